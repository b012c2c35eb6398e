"""The service's side of service.local.warm_snakemake: start it, hand it run folders,
learn when their Snakemake has ended."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)


class WarmSnakemakeGone(Exception):
    """The warm process is not running (it failed to start or died)."""


class WarmSnakemake:
    def __init__(self) -> None:
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._next_id = 0
        self._forked: dict[int, asyncio.Future[int]] = {}
        self._ended: dict[int, asyncio.Future[int]] = {}
        self._early_exits: dict[int, int] = {}

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "service.local.warm_snakemake", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE)
        assert self._proc.stdout is not None
        line = await self._proc.stdout.readline()
        if not line or not json.loads(line).get("ready"):
            raise WarmSnakemakeGone("warm Snakemake did not start")
        self._reader = asyncio.create_task(self._read())

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        while line := await self._proc.stdout.readline():
            message = json.loads(line)
            if "cpu_s" in message:
                log.info("Snakemake child %s: exit %s, %.3f s CPU, peak RSS %d kB",
                         message["pid"], message["exit"], message["cpu_s"],
                         message["maxrss_kb"])
            if "id" in message:
                self._forked.pop(message["id"]).set_result(message["pid"])
            elif message["pid"] in self._ended:
                self._ended.pop(message["pid"]).set_result(message["exit"])
            else:  # ended before its waiter was registered
                self._early_exits[message["pid"]] = message["exit"]
        log.warning("warm Snakemake ended")
        for future in (*self._forked.values(), *self._ended.values()):
            if not future.done():
                future.set_exception(WarmSnakemakeGone("warm Snakemake ended"))

    async def fork(self, folder: Path, args: Sequence[str] | None = None,
                   rlimits: list[tuple[int, int, int]] | None = None, nice: int = 0
                   ) -> tuple[int, asyncio.Future[int]]:
        """Start a run's workflow (Snakemake `args`, else the run's own), under
        `rlimits` ((resource, soft, hard), set in the child) and `nice` (added to
        the child's niceness); returns the child's pid and a future of its exit."""
        if not self.alive or self._proc is None or self._proc.stdin is None:
            raise WarmSnakemakeGone("warm Snakemake is not running")
        self._next_id += 1
        forked: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._forked[self._next_id] = forked
        message: dict[str, object] = {"id": self._next_id, "folder": str(folder),
                                      "rlimits": rlimits or [], "nice": nice}
        if args is not None:
            message["args"] = list(args)
        self._proc.stdin.write(json.dumps(message).encode() + b"\n")
        await self._proc.stdin.drain()
        pid = await forked
        ended: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        if pid in self._early_exits:
            ended.set_result(self._early_exits.pop(pid))
        else:
            self._ended[pid] = ended
        return pid, ended

    async def stop(self) -> None:
        if self._proc is not None and self._proc.stdin is not None:
            self._proc.stdin.close()
            # kill, not terminate: the warm-up installs Snakemake's SIGTERM handler,
            # which a busy warm-up never runs. Forked children are in their own
            # sessions and finish on their own.
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            await self._proc.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
