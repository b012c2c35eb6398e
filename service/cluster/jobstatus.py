"""Where the poller learns the state of jobs: one small interface, two sources
chosen by cluster.backend (source_for): Slurm's commands here, DRMAA
(drmaa_status.py); another (slurmrestd) could stand in the same way."""

from __future__ import annotations

from typing import Protocol

from ws_slurm.query import SlurmQuery

from service.cluster import slurm
from service.cluster.backend import check_drmaa_library
from service.core.config import ClusterConfig
from service.runs.state import ExitRecords


class JobStatusSource(Protocol):
    # Whether the last states() call was answered by Slurm: then a job left out
    # is one Slurm does not know. False (Slurm could not be asked): no news.
    answered: bool

    async def states(self, job_ids: set[int]) -> dict[int, slurm.JobInfo]:
        """What is known of these jobs; a job it knows nothing of is left out."""
        ...


class SlurmStatus:
    """Slurm's commands (ws_slurm.query: one squeue, then one sacct for what squeue
    forgot) under the status source's interface, until the poller asks a
    ClusterBackend (cli_backend.CliBackend)."""

    def __init__(self) -> None:
        self.query = SlurmQuery(slurm.current_run)
        self.answered = False

    @property
    def queries(self) -> int:
        return self.query.queries

    @property
    def accounting(self) -> bool:
        return self.query.accounting

    async def states(self, job_ids: set[int]) -> dict[int, slurm.JobInfo]:
        answer = await self.query.states(job_ids)
        self.answered = answer.answered
        return dict(answer.known)


def settle_with_records(infos: dict[int, slurm.JobInfo], records: ExitRecords
                        ) -> dict[int, slurm.JobInfo]:
    """A FAILED that may be a job Slurm forgot (DRMAA's `failed`, uncertain) judged by
    the job's exit record: 0, the job COMPLETED (an OK run, as sacct would say);
    another status, FAILED (the command's cause); none, left out: Slurm does not
    know the job, and the poller's rules on lost jobs apply."""
    exits = {j.slurm_id: j.exit for j in records.jobs}
    settled = {}
    for job_id, info in infos.items():
        if info.uncertain:
            exit_status = exits.get(job_id, None if records.jobs else records.command)
            if exit_status is None:
                continue
            info = slurm.JobInfo(job_id, "COMPLETED" if exit_status == 0 else "FAILED")
        settled[job_id] = info
    return settled


def source_for(cluster: ClusterConfig) -> JobStatusSource:
    """The job status source of cluster.backend; ConfigError if it cannot work."""
    if cluster.backend != "drmaa":
        return SlurmStatus()
    library = check_drmaa_library(cluster)
    from service.cluster.drmaa_status import DrmaaStatus  # loads libdrmaa when used
    return DrmaaStatus(library)
