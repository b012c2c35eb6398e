"""Where the poller learns the state of jobs: one small interface, so another
source (DRMAA, where a cluster has libdrmaa; slurmrestd) can stand in."""

from __future__ import annotations

import logging
from typing import Protocol

from service.cluster import slurm

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
