"""Where the poller learns the state of jobs: one small interface, two sources
chosen by cluster.backend (source_for): Slurm's commands here, DRMAA
(drmaa_status.py); another (slurmrestd) could stand in the same way."""

from __future__ import annotations

import logging
import os
from typing import Protocol

from service.cluster import slurm
from service.core.config import ClusterConfig, ConfigError
from service.runs.state import ExitRecords

log = logging.getLogger(__name__)


class JobStatusSource(Protocol):
    # Whether the last states() call was answered by Slurm: then a job left out
    # is one Slurm does not know. False (Slurm could not be asked): no news.
    answered: bool

    async def states(self, job_ids: set[int]) -> dict[int, slurm.JobInfo]:
        """What is known of these jobs; a job it knows nothing of is left out."""
        ...


class SlurmStatus:
    """Slurm's commands: one squeue for all of the account's jobs, then one sacct
    for those squeue has forgotten (MinJobAge). Two commands at most per call,
    whatever the number of jobs; sacct failing (slurmdbd down) is no error. On a
    cluster without accounting sacct is asked once, said once, and never again:
    squeue and the run folders then tell everything."""

    def __init__(self) -> None:
        self.queries = 0  # commands run, for tests and benchmarks
        self.accounting = True  # False once sacct has said accounting is disabled
        self.answered = False

    async def states(self, job_ids: set[int]) -> dict[int, slurm.JobInfo]:
        known: dict[int, slurm.JobInfo] = {}
        self.queries += 1
        result = await slurm.run(slurm.squeue_command())
        # squeue lists every job of the account that slurmctld still holds: when it
        # answers, a job it leaves out (and sacct too) is one Slurm does not know.
        self.answered = result.returncode == 0
        if self.answered:
            known.update(slurm.parse_states(result.stdout))
        else:
            log.warning("squeue failed: %s", result.stderr.strip())
        missing = job_ids - set(known)
        if missing and self.accounting:
            self.queries += 1
            result = await slurm.run(slurm.sacct_command(missing))
            if result.returncode == 0:
                known.update(slurm.parse_states(result.stdout))
            elif slurm.accounting_disabled(result.stderr):
                self.accounting = False
                log.warning("this cluster keeps no accounting (%s): job states come from "
                            "squeue and the run folders alone", result.stderr.strip())
            else:
                log.info("sacct unavailable: %s", result.stderr.strip())
        return {job_id: info for job_id, info in known.items() if job_id in job_ids}


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
    if not cluster.drmaa_library or not os.path.isfile(cluster.drmaa_library):
        raise ConfigError(f"cluster.backend = \"drmaa\" needs libdrmaa: "
                          f"{cluster.drmaa_library or 'no path'!s} is no file (set "
                          "cluster.drmaa_library or DRMAA_LIBRARY_PATH; see README)")
    from service.cluster.drmaa_status import DrmaaStatus  # loads libdrmaa when used
    return DrmaaStatus(cluster.drmaa_library)
