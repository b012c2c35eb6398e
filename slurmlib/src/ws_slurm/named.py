"""Finding a run's Slurm jobs by name, in squeue's and sacct's answers (pure).

Every job of a ws run carries the run's name (`114-ws-sw_example`) and runs in
the run's folder (`--chdir`). Names repeat (several services, or a state folder
started anew, count runs from 1 again); the folder, named by a hash of the run's
random key, does not. So a job is the run's when both match."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class NamedJob:
    job_id: int
    state: str
    name: str
    workdir: str


def parse_named_jobs(stdout: str) -> list[NamedJob]:
    """Lines `id|STATE|name|workdir` (squeue and sacct alike); array and
    heterogeneous ids (never ws's) and malformed lines are left out."""
    jobs = []
    for line in stdout.splitlines():
        fields = line.rstrip("\n").split("|", 3)
        if len(fields) != 4 or not fields[0].strip().isdigit() or not fields[1].strip():
            continue
        jobs.append(NamedJob(int(fields[0]), fields[1].split()[0], fields[2].strip(),
                             fields[3].strip()))
    return jobs


def jobs_of_run(jobs: Iterable[NamedJob], job_name: str, folder: str) -> tuple[int, ...]:
    """The ids of the jobs named `job_name` that ran in the run folder named `folder`,
    in submission order (Slurm's ids grow)."""
    return tuple(sorted({j.job_id for j in jobs
                         if j.name == job_name and os.path.basename(
                             j.workdir.rstrip("/")) == folder}))


def jobs_of_runs(jobs: Iterable[NamedJob], runs: Mapping[str, str]
                 ) -> dict[str, tuple[int, ...]]:
    """{run folder name: its job ids} for runs given as {folder name: job name}."""
    listed = list(jobs)
    return {folder: jobs_of_run(listed, name, folder) for folder, name in runs.items()}
