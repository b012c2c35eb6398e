"""What a job's state from the cluster backend means once its exit record is
read: DRMAA's `failed` may be a job Slurm forgot (service/cluster/backend.py
answers the states; this settles them)."""

from __future__ import annotations

from service.cluster import slurm
from service.runs.state import ExitRecords


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
