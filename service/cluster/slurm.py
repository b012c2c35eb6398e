"""Slurm as the service's modules name it: ws_slurm's job states and its command
runner (one reading of Slurm for the executor and the service)."""

from __future__ import annotations

from collections.abc import Sequence

from ws_slurm.run import DEFAULT_TIMEOUT_S, Completed, run
from ws_slurm.states import FINAL as FINAL_STATES
from ws_slurm.states import JobInfo

__all__ = ["FINAL_STATES", "Completed", "JobInfo", "current_run", "run"]


async def current_run(argv: Sequence[str], timeout: float = DEFAULT_TIMEOUT_S) -> Completed:
    """`run` as this module holds it when called: tests put recorded answers there."""
    return await run(argv, timeout)
