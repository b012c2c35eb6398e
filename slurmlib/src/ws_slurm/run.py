"""Running one Slurm command: without a shell, with a timeout, never raising for
the command's own failure (its exit status and stderr say it)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

DEFAULT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class Runner(Protocol):
    """How the query runs a command: `run` below, a recorded answer in tests, or a
    wrapper that runs it as another user."""

    async def __call__(self, argv: Sequence[str], timeout: float = DEFAULT_TIMEOUT_S
                       ) -> Completed: ...


async def run(argv: Sequence[str], timeout: float = DEFAULT_TIMEOUT_S) -> Completed:
    """Run a command; a hung one is killed, and a missing one is a failure."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
    except OSError as e:
        return Completed(-1, "", f"{argv[0]}: {e}")
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return Completed(-1, "", f"{argv[0]} timed out after {timeout} s")
    return Completed(proc.returncode or 0, out.decode(errors="replace"),
                     err.decode(errors="replace"))
