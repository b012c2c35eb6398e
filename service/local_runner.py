"""Local runs: the run's job script on the service's own machine, no Slurm.

Bounded: at most `max_concurrent` at once, at most `max_waiting` waiting
(beyond that: Busy, 503 with Retry-After), each killed at `time_limit_s`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from service.config import LocalRunConfig
from service.errors import Busy
from service.exits import read_exit_records
from service.runfolder import RunFolder
from service.runstate import RunState, ended


class LocalRunner:
    def __init__(self, config: LocalRunConfig) -> None:
        self.config = config
        self._slots = asyncio.Semaphore(config.max_concurrent)
        self._waiting = 0

    async def run(self, folder: RunFolder, state: RunState) -> RunState:
        if self._slots.locked() and self._waiting >= self.config.max_waiting:
            raise Busy("every local run slot is busy and the waiting line is full",
                       ["retry later, or run on the cluster (POST "
                        "/api/software/{identity}/run/{name})"])
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            return await self._execute(folder, state)
        finally:
            self._slots.release()

    async def _execute(self, folder: RunFolder, state: RunState) -> RunState:
        # Own session, so a time-out kills Snakemake and the container with it.
        proc = await asyncio.create_subprocess_exec(
            "bash", str(folder.job_script), cwd=folder.path, start_new_session=True,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        try:
            await asyncio.wait_for(proc.wait(), self.config.time_limit_s)
        except TimeoutError:
            _kill_group(proc.pid)
            await proc.wait()
            return ended(state, "TIMEOUT", read_exit_records(folder)).moved_to(
                cause=f"the run reached the time limit of local runs "
                      f"({self.config.time_limit_s:g} s)")
        except asyncio.CancelledError:
            _kill_group(proc.pid)
            raise
        slurm_like = "COMPLETED" if proc.returncode == 0 else "FAILED"
        return ended(state, slurm_like, read_exit_records(folder))


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
