"""A run's state and how its one final state is decided (pure)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any


class Cr(StrEnum):
    """The run's one answer: WAIT while it runs, then OK or NOK for good."""

    WAIT = "WAIT"
    OK = "OK"
    NOK = "NOK"


class LatestCr(StrEnum):
    IN_PROGRESS = "IN_PROGRESS"
    ENDED_OK = "ENDED_OK"
    ENDED_NOK = "ENDED_NOK"


WAIT, OK, NOK = Cr.WAIT, Cr.OK, Cr.NOK
IN_PROGRESS, ENDED_OK, ENDED_NOK = LatestCr.IN_PROGRESS, LatestCr.ENDED_OK, LatestCr.ENDED_NOK

SLURM_CAUSES = {
    "TIMEOUT": "the job reached its time limit",
    "OUT_OF_MEMORY": "the job ran out of memory",
    "CANCELLED": "the job was cancelled",
    "NODE_FAIL": "the node running the job failed",
    "PREEMPTED": "the job was preempted",
    "BOOT_FAIL": "the node could not boot for the job",
    "DEADLINE": "the job missed its deadline",
    "SPECIAL_EXIT": "the job ended with a special exit (held for the administrator)",
    "REVOKED": "the job was revoked (it runs on another cluster of the federation)",
    "LAUNCH_FAILED": "Slurm could not launch the job",
}


@dataclass(frozen=True)
class RunState:
    cr: Cr = Cr.WAIT
    latest_cr: LatestCr = LatestCr.IN_PROGRESS
    latest_state: str = "PENDING"  # Slurm's own word, whatever it says
    cause: str = ""
    updated: float = 0.0
    # Every Slurm job of the run's workflow (ws's executor: one per rule), in
    # Snakemake's order; empty until they are all in Slurm.
    jobs: tuple[int, ...] = ()

    @property
    def final(self) -> bool:
        return self.cr != Cr.WAIT

    @property
    def job_id(self) -> int | None:
        """The job the reports show (the first): they name one job per run."""
        return self.jobs[0] if self.jobs else None

    @property
    def job_ids(self) -> tuple[int, ...]:
        return self.jobs

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunState:
        """Any state.json so far: one written before `jobs` named its one job `job_id`."""
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        jobs = tuple(int(j) for j in values.get("jobs") or ())
        if not jobs and data.get("job_id") is not None:
            jobs = (int(data["job_id"]),)
        values["jobs"] = jobs
        values["cr"] = Cr(values.get("cr", Cr.WAIT))
        values["latest_cr"] = LatestCr(values.get("latest_cr", LatestCr.IN_PROGRESS))
        return cls(**values)

    def moved_to(self, now: float, **changes: Any) -> RunState:
        return replace(self, updated=now, **changes)


@dataclass(frozen=True)
class JobExit:
    """One job of the run's workflow: its Slurm id (or pid, run here) and the exit
    status its job script recorded for the command."""

    rule: str
    slurm_id: int
    exit: int | None


@dataclass(frozen=True)
class ExitRecords:
    """What the run's scripts left in status/ (never anything from work/)."""

    snakemake: int | None
    command: int | None  # the first failing job's, 0 when all exited 0
    modules_failed: bool
    jobs: tuple[JobExit, ...] = ()
    requeued: bool = False  # a job script refused a requeued attempt
    bind_refused: bool = False  # a job script refused a bind leading elsewhere
    disk_exceeded: int | None = None  # the MB bound past which the service cancelled it


def ended(state: RunState, slurm_state: str, records: ExitRecords, now: float) -> RunState:
    """The one final state of a run whose job is over. OK only when Slurm, Snakemake
    and the command all say so: a job killed at its time limit is never OK."""
    cause = ""
    if records.requeued:
        cause = ("Slurm requeued the job (node failure, preemption or by hand): ws runs "
                 "a job once, a second attempt would run in what the first left")
    elif records.disk_exceeded is not None:
        cause = (f"the run's folder grew past {records.disk_exceeded} MB while its job "
                 "ran (limits.max_run_mb): ws cancelled it")
    elif records.bind_refused:
        cause = ("a bind's source led out of the run's work/ or the allowed host path "
                 "when the job started (a link put in its place?): the container was "
                 "not started")
    elif slurm_state in SLURM_CAUSES:
        cause = SLURM_CAUSES[slurm_state]
    elif records.modules_failed:
        cause = "module load failed (see logs/modules.log)"
    elif records.command not in (None, 0):
        cause = f"the command exited with status {records.command} (see work/stderr.txt)"
    elif slurm_state == "FAILED" and records.command is None:
        # Killed before its command ended; DRMAA says FAILED for any such end.
        cause = ("the job failed before its command recorded an exit status (time "
                 "limit, memory, node, cancellation...)")
    elif records.command is None and records.snakemake == 0:
        cause = "the command did not run (Snakemake found nothing to do)"
    elif records.snakemake is None:
        cause = f"the job ended ({slurm_state}) without recording Snakemake's exit status"
    elif records.snakemake != 0:
        cause = (f"Snakemake exited with status {records.snakemake} "
                 "(see logs/snakemake.log)")
    elif slurm_state != "COMPLETED":
        cause = f"Slurm reports {slurm_state}"
    if cause:
        return state.moved_to(now, cr=NOK, latest_cr=ENDED_NOK, latest_state=slurm_state,
                              cause=cause)
    return state.moved_to(now, cr=OK, latest_cr=ENDED_OK, latest_state=slurm_state,
                          cause="")


def ended_jobs(state: RunState, slurm_states: dict[int, str], records: ExitRecords,
               now: float) -> RunState:
    """The one final state of a run of several jobs, all over: OK only when every
    job is COMPLETED with its command exited 0; otherwise NOK with the cause of
    the first job (in the workflow's order) that is not."""
    if not records.jobs:
        return ended(state, slurm_states.get(state.job_id or -1, "UNKNOWN"), records, now)
    if records.snakemake is None:
        # Snakemake's child only submits (its exit says the submission ended): a run
        # followed again by its jobs' name after that child was cut off (reconcile.py)
        # has none, and its jobs' own records judge it.
        records = replace(records, snakemake=0)
    for job in records.jobs:
        one = replace(records, command=job.exit, jobs=(job,))
        end = ended(state, slurm_states.get(job.slurm_id, "UNKNOWN"), one, now)
        if end.cr != OK:
            return end
    return ended(state, "COMPLETED", records, now)
