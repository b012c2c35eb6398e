"""Read the exit records a run left in its status/ folder.

They are written outside the container (by job.sh, the warm Snakemake child and
the job scripts of ws's executor), in status/, which the container never sees.
Even so they are read as if hostile: never through a link, only regular files, a
few bytes at most (ws_slurm.records), and never on the event
loop (callers use asyncio.to_thread). Nothing under work/ is read to decide."""

from __future__ import annotations

import contextlib
import os

from ws_slurm import records

from service.runs.folder import RunFolder
from service.runs.safe_open import run_subfolder
from service.runs.state import ExitRecords, JobExit


def status_folder(folder: RunFolder) -> contextlib.AbstractContextManager[int | None]:
    """The run's status/, opened without following a link (safe_open.run_subfolder)."""
    return run_subfolder(folder.path, folder.status.name)


def _exists(name: str, status: int) -> bool:
    try:
        os.stat(name, dir_fd=status, follow_symlinks=False)
    except OSError:
        return False
    return True


def _jobs(folder: RunFolder, status: int | None) -> tuple[JobExit, ...]:
    jobs = []
    # The jobs list the service rebuilt for a unix-mode run (reconcile.py) is with
    # its own files: the user's status/ is not the service's to write.
    listed = (records.read_jobs("", status) if status is not None else []) or (
        records.read_jobs(str(folder.meta)) if folder.meta else [])
    for entry in listed:
        # Only a plain name inside status/: the list says where, the folder decides.
        name = os.path.basename(entry.exit)
        exit_status = records.read_exit(name, status) if name and status is not None \
            else None
        jobs.append(JobExit(rule=entry.rule, slurm_id=entry.slurm_id, exit=exit_status))
    return tuple(jobs)


def read_exit_records(folder: RunFolder) -> ExitRecords:
    disk_exceeded = records.read_exit(str(folder.disk_exceeded)) if folder.meta else None
    with status_folder(folder) as status:
        jobs = _jobs(folder, status)
        if status is None:
            return ExitRecords(snakemake=None, command=command_exit(jobs),
                               modules_failed=False, jobs=jobs, disk_exceeded=disk_exceeded)
        return ExitRecords(
            snakemake=records.read_exit(folder.snakemake_exit.name, status),
            command=command_exit(jobs),
            modules_failed=_exists("modules.exit", status),
            jobs=jobs,
            requeued=_exists(records.REQUEUED_RECORD, status),
            bind_refused=_exists(records.BIND_REFUSED_RECORD, status),
            disk_exceeded=disk_exceeded if folder.meta else records.read_exit(
                folder.disk_exceeded.name, status))


def command_exit(jobs: tuple[JobExit, ...]) -> int | None:
    """The first failing command's status; 0 when every job's command exited 0."""
    for job in jobs:
        if job.exit not in (None, 0):
            return job.exit
    if jobs and all(job.exit == 0 for job in jobs):
        return 0
    return None
