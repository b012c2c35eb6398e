"""How a prepared run folder reaches Slurm: the one swappable piece.

`SnakemakeSubmitter` (the service's): the run's workflow is run by a Snakemake
kept warm on the login node (a forked child per run) with the Slurm profile,
ws's executor (plugin/) and --immediate-submit: each rule becomes one Slurm job
running the rule's own command in its container (no Snakemake in the job),
chained with afterok, and the child exits as soon as they are all in Slurm.
Its executor lists the jobs in status/jobs.json. The cluster's backend
(backend.py) holds it and adds its executor arguments."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import Protocol

from ws_slurm import records

from service.core import atomic
from service.runs.exits import read_exit_records, status_folder
from service.runs.folder import RunFolder
from service.runs.state import ENDED_NOK, NOK, ExitRecords, RunState

# Written in status/ before the run's Snakemake child is asked for: a run without
# it never began to be submitted (reconcile.py may submit it after a restart);
# with it, jobs may be in Slurm even if none was recorded, so Slurm is asked first.
SUBMISSION_STARTED = "submission.started"


class SubmissionFailed(Exception):
    """The run's jobs did not all reach Slurm; the message says why."""


def not_all_in_slurm(error: str, snakemake_exit: int) -> str:
    """Why a run's jobs are not all in Slurm: the executor's record of Slurm's (or
    DRMAA's) words, else the exit status of the Snakemake child that submitted."""
    return error or (f"Snakemake exited with status {snakemake_exit} before its jobs "
                     "were all in Slurm (see logs/snakemake.log)")


def slurm_refused(why: str) -> str:
    return f"Slurm did not take the job: {why}"


def ended_unsubmitted(state: RunState, cause: str, now: float) -> RunState:
    """A run whose jobs did not all reach Slurm, ended: NOK, NOT_SUBMITTED."""
    return state.moved_to(now, cr=NOK, latest_cr=ENDED_NOK, latest_state="NOT_SUBMITTED",
                          cause=cause)


class RunSubmitter(Protocol):
    async def submit(self, folder: RunFolder) -> tuple[int, ...]:
        """Put the run's jobs into Slurm; their ids, in the workflow's order.
        SubmissionFailed (with Slurm's words) if they are not all there."""
        ...


class WorkflowForker(Protocol):
    async def fork_workflow(self, folder: Path, args: Sequence[str]
                            ) -> tuple[int, Awaitable[int]]:
        ...


def immediate_submit_args(profile_dir: Path, targets: Sequence[str]) -> list[str]:
    # The run's final outputs as targets: `rule all` is a local rule, which
    # --immediate-submit skips, after waiting for it about a second.
    return ["--profile", str(profile_dir), "--immediate-submit", "--notemp", *targets]


def end_marks_args(end_marks: Path | None) -> list[str]:
    """ws's executor told where its job scripts leave their end marks (the folder
    the poller lists: service/cluster/watch.py)."""
    return ["--ws-end-marks", str(end_marks)] if end_marks else []


class SnakemakeSubmitter:
    def __init__(self, forker: WorkflowForker, profile_dir: Path,
                 targets: Sequence[str] = ("work/stdout.txt",),
                 extra_args: Sequence[str] = ()) -> None:
        self.forker = forker
        self.args = [*immediate_submit_args(profile_dir, targets), *extra_args]

    async def submit(self, folder: RunFolder) -> tuple[int, ...]:
        await asyncio.to_thread(atomic.write_text, folder.status / SUBMISSION_STARTED,
                                f"{time.time()}\n")
        _, exited = await self.forker.fork_workflow(folder.path, self.args)
        code = await exited
        error, exits = await asyncio.to_thread(submission_records, folder)
        job_ids = tuple(job.slurm_id for job in exits.jobs)
        if code != 0 or error or not job_ids:
            raise SubmissionFailed(not_all_in_slurm(error, code))
        return job_ids


def submission_records(folder: RunFolder) -> tuple[str, ExitRecords]:
    """The executor's submission error (empty if none) and the run's exit records."""
    with status_folder(folder) as status:
        error = records.read_text(records.SUBMISSION_ERROR, dir_fd=status) \
            if status is not None else ""
    return error, read_exit_records(folder)
