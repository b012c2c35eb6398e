"""Read the exit records a run left in its status/ folder.

They are written outside the container (by job.sh, the warm Snakemake child and
the job scripts of ws's executor), in status/, which the container never sees.
Even so they are read as if hostile: never through a link, only regular files, a
few bytes at most (ws_slurm.records), and never on the event
loop (callers use asyncio.to_thread). Nothing under work/ is read to decide."""

from __future__ import annotations

import os

from ws_slurm import records

from service.runs.folder import RunFolder
from service.runs.state import ExitRecords, JobExit


def _jobs(folder: RunFolder) -> tuple[JobExit, ...]:
    jobs = []
    # The jobs list the service rebuilt for a unix-mode run (reconcile.py) is with
    # its own files: the user's status/ is not the service's to write.
    listed = records.read_jobs(str(folder.status)) or (
        records.read_jobs(str(folder.meta)) if folder.meta else [])
    for entry in listed:
        # Only a plain name inside status/: the list says where, the folder decides.
        name = os.path.basename(entry.exit)
        exit_status = records.read_exit(str(folder.status / name)) if name else None
        jobs.append(JobExit(rule=entry.rule, slurm_id=entry.slurm_id, exit=exit_status))
    return tuple(jobs)


def read_exit_records(folder: RunFolder) -> ExitRecords:
    jobs = _jobs(folder)
    return ExitRecords(snakemake=records.read_exit(str(folder.snakemake_exit)),
                       command=command_exit(jobs),
                       modules_failed=os.path.lexists(folder.status / "modules.exit"),
                       jobs=jobs,
                       requeued=os.path.lexists(folder.status / records.REQUEUED_RECORD),
                       bind_refused=os.path.lexists(
                           folder.status / records.BIND_REFUSED_RECORD),
                       disk_exceeded=records.read_exit(str(folder.disk_exceeded)))


def command_exit(jobs: tuple[JobExit, ...]) -> int | None:
    """The first failing command's status; 0 when every job's command exited 0."""
    for job in jobs:
        if job.exit not in (None, 0):
            return job.exit
    if jobs and all(job.exit == 0 for job in jobs):
        return 0
    return None
