"""Slurm as the service's modules name it: ws_slurm's job states and its command
runner (one reading of Slurm for the executor and the service)."""

from __future__ import annotations

from ws_slurm.run import Completed, run
from ws_slurm.states import FINAL as FINAL_STATES
from ws_slurm.states import JobInfo

__all__ = ["FINAL_STATES", "Completed", "JobInfo", "run"]
