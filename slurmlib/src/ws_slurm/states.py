"""Slurm's job state words, and what one query learnt of a set of jobs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# A job's state words, as squeue (%T) and sacct print them, Slurm 22.05 to 25.x.
# Final: the job is over for good. REQUEUED, REQUEUE_HOLD, REQUEUE_FED,
# RESV_DEL_HOLD, SUSPENDED, STOPPED, COMPLETING, CONFIGURING, RESIZING, SIGNALING,
# STAGE_OUT and the like are not: the same job id goes on.
FINAL = frozenset({"COMPLETED", "FAILED", "TIMEOUT", "OUT_OF_MEMORY", "CANCELLED",
                   "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "SPECIAL_EXIT",
                   "REVOKED", "LAUNCH_FAILED"})


@dataclass(frozen=True)
class JobInfo:
    job_id: int
    state: str  # Slurm's state word: PENDING, RUNNING, COMPLETED, TIMEOUT, ...
    # A FAILED that may also be a job Slurm forgot (DRMAA's `failed`): whoever
    # reads it decides with the job's exit record.
    uncertain: bool = False

    @property
    def final(self) -> bool:
        return self.state in FINAL


@dataclass(frozen=True)
class StatesAnswer:
    """What is known of the jobs asked about (a job nothing is known of is left
    out), and whether Slurm answered: then a job left out is one Slurm does not
    know; otherwise the answer is no news."""

    known: Mapping[int, JobInfo] = field(default_factory=dict)
    answered: bool = False


def parse_states(stdout: str) -> dict[int, JobInfo]:
    """squeue's `%i|%T` and sacct's `JobIDRaw|State` lines alike ("CANCELLED by 0"
    is CANCELLED). Array and heterogeneous ids (never ws's) and lines without a
    state are left out."""
    states: dict[int, JobInfo] = {}
    for line in stdout.splitlines():
        fields = line.strip().split("|")
        if len(fields) >= 2 and fields[0].isdigit() and fields[1].strip():
            job_id = int(fields[0])
            states[job_id] = JobInfo(job_id, fields[1].split()[0])
    return states
