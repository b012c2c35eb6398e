"""Local runs: the run's workflow on the service's own machine, no Slurm.

Bounded: at most `max_concurrent` at once, at most `max_waiting` waiting
(beyond that: Busy, 503 with Retry-After), each killed at `time_limit_s`.
Snakemake runs in a child of the warm Snakemake process when it is up (its
start-up is what a local run would otherwise mostly wait for), else through
the run's job.sh, as on the cluster. A `launch` given replaces both (identity
mode "unix": as_user_launch, job.sh run as the run's Unix user)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from service.core.config import LocalRunConfig
from service.core.errors import Busy, TooManyRuns
from service.local.limits import UNBOUNDED, LocalLimits, prlimit_argv, rlimits
from service.local.warm_client import WarmSnakemake, WarmSnakemakeGone
from service.runs.exits import read_exit_records
from service.runs.folder import RunFolder
from service.runs.ledger import Ledger
from service.runs.state import RunState, ended

log = logging.getLogger(__name__)
# A cluster run's submitting Snakemake (≈ 0.1 s of CPU each, several at once in a
# burst) yields the CPU to the service: POSTs are answered first, submissions use
# what is left.
SUBMISSION_NICE = 10


@dataclass(frozen=True)
class Started:
    """A local run's processes, launched: their exit status, and how to kill them."""
    exited: Awaitable[int]
    kill: Callable[[], None]


Launch = Callable[[RunFolder, LocalLimits], Awaitable[Started]]


class LocalRunner:
    def __init__(self, config: LocalRunConfig, launch: Launch | None = None) -> None:
        self.config = config
        self.launch = launch or self._launch
        self._slots = asyncio.Semaphore(config.max_concurrent)
        self._waiting = 0
        self._per_owner: Counter[str] = Counter()  # runs going on or waiting, per user
        self.warm: WarmSnakemake | None = None
        self._starting: asyncio.Task[None] | None = None
        self._warming: WarmSnakemake | None = None
        self._running: dict[Path, Started] = {}  # run folder -> its processes

    async def start(self) -> None:
        """Start the warm Snakemake in the background: its warm-up runs a whole
        workflow (seconds on a busy node), and the service answers meanwhile
        (runs started before it is ready start Snakemake cold)."""
        if self.config.warm_snakemake:
            self._starting = asyncio.create_task(self._start_warm())
        else:
            log.info("no warm Snakemake: each run starts Snakemake cold")

    async def _start_warm(self) -> None:
        warm = self._warming = WarmSnakemake()
        try:
            await warm.start()
        except (OSError, WarmSnakemakeGone) as e:
            log.warning("warm Snakemake unavailable, Snakemake starts cold per run: %s", e)
            return
        self.warm = warm
        log.info("warm Snakemake ready")

    async def stop(self) -> None:
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._starting
            if self._warming is not None:  # stopped while warming up: no orphan
                await self._warming.stop()
        if self.warm is not None:
            await self.warm.stop()

    async def run(self, ledger: Ledger, key: str, owner: str,
                  limits: LocalLimits = UNBOUNDED) -> RunState:
        """Run it, once a slot is free; its final state, in the ledger too.
        TooManyRuns when its owner has max_per_user local runs going on or waiting,
        Busy when the waiting line is full (nothing run, nothing changed then)."""
        if self._per_owner[owner] >= self.config.max_per_user:
            raise TooManyRuns(f"{owner} has {self.config.max_per_user} local runs going on "
                              "or waiting already; wait for one to end",
                              ["or run on the cluster (POST "
                               "/api/software/{identity}/run/{name})"])
        if self._slots.locked() and self._waiting >= self.config.max_waiting:
            raise Busy("every local run slot is busy and the waiting line is full",
                       ["retry later, or run on the cluster (POST "
                        "/api/software/{identity}/run/{name})"])
        self._per_owner[owner] += 1
        try:
            self._waiting += 1
            try:
                await self._slots.acquire()
            finally:
                self._waiting -= 1
            try:
                end = await self._execute(ledger.folder(key), ledger.state_of(key), limits,
                                          ledger.clock.time)
            finally:
                self._slots.release()
        finally:
            self._per_owner[owner] -= 1
            if not self._per_owner[owner]:
                del self._per_owner[owner]
        await ledger.change(key, end)
        return end

    async def _launch(self, folder: RunFolder, limits: LocalLimits) -> Started:
        pid, exited = await self._start(folder, limits)
        return Started(exited, lambda: _kill_group(pid))

    async def _start(self, folder: RunFolder,
                     limits: LocalLimits) -> tuple[int, Awaitable[int]]:
        if self.warm is not None and self.warm.alive:
            with contextlib.suppress(WarmSnakemakeGone):
                return await self.warm.fork(folder.path, rlimits=rlimits(limits))
        # Own session, so a time-out kills Snakemake and the container with it;
        # prlimit sets the bounds and execs bash (no preexec_fn: we have threads).
        proc = await asyncio.create_subprocess_exec(
            "prlimit", *prlimit_argv(limits), "--", "bash", str(folder.job_script),
            cwd=folder.path, start_new_session=True,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        return proc.pid, proc.wait()

    async def fork_workflow(self, folder: Path, args: Sequence[str]
                            ) -> tuple[int, Awaitable[int]]:
        """Snakemake with these arguments in a run folder, from the warm process
        (else started cold), not bounded by the local slots: cluster runs' workflows,
        whose Snakemake only submits their jobs and exits."""
        if self.warm is not None and self.warm.alive:
            with contextlib.suppress(WarmSnakemakeGone):
                return await self.warm.fork(folder, args, nice=SUBMISSION_NICE)
        proc = await asyncio.create_subprocess_exec(
            # No start_new_session: the child makes its own session (setsid), which
            # fails for a process that already leads one.
            "nice", "-n", str(SUBMISSION_NICE),
            sys.executable, "-m", "service.local.warm_snakemake", "--once", str(folder),
            *args, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        return proc.pid, proc.wait()

    async def _execute(self, folder: RunFolder, state: RunState, limits: LocalLimits,
                       now: Callable[[], float]) -> RunState:
        started = await self.launch(folder, limits)
        waiting = asyncio.ensure_future(started.exited)
        self._running[folder.path] = started
        try:
            code = await asyncio.wait_for(asyncio.shield(waiting), self.config.time_limit_s)
        except TimeoutError:
            started.kill()
            await waiting
            records = await asyncio.to_thread(read_exit_records, folder)
            return ended(state, "TIMEOUT", records, now()).moved_to(
                now(), cause=f"the run reached the time limit of local runs "
                      f"({self.config.time_limit_s:g} s)")
        except asyncio.CancelledError:
            started.kill()
            raise
        finally:
            self._running.pop(folder.path, None)
        # Off the event loop: status/ is read with care, but a disk can be slow.
        records = await asyncio.to_thread(read_exit_records, folder)
        return ended(state, "COMPLETED" if code == 0 else "FAILED", records, now())

    def running(self) -> list[Path]:
        """The folders of the local runs whose processes run now."""
        return list(self._running)

    def kill(self, folder: Path) -> None:
        """Kill the local run of this folder (it ends as a failed run)."""
        started = self._running.get(folder)
        if started is not None:
            started.kill()


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
