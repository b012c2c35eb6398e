"""sbatch: one job's Submission, its argv, and the job id sbatch prints."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Submission:
    """One batch job, as both sbatch's argv and slurm-drmaa's template are built
    from it (native.py)."""

    script: str
    job_name: str
    chdir: str
    output: str
    cpus: int
    runtime_min: int | None = None
    mem_mb: int | None = None
    partition: str | None = None
    dependencies: tuple[str, ...] = ()  # Slurm ids of the jobs it runs after (afterok)
    export: str | None = None  # sbatch --export: the job's whole environment
    extra: tuple[str, ...] = ()  # whole `--option=value` words


def sbatch_argv(sub: Submission, sbatch: str = "sbatch") -> list[str]:
    argv = [sbatch, "--parsable", f"--job-name={sub.job_name}", f"--chdir={sub.chdir}",
            f"--output={sub.output}", f"--cpus-per-task={sub.cpus}",
            # A dependant of a failed job is cancelled, not left pending for ever
            # (this needs no kill_invalid_depend in slurm.conf).
            "--kill-on-invalid-dep=yes",
            # Never a second attempt: it would run in a work/ the first attempt's
            # command controlled (the job script refuses one a site requeues by hand).
            "--no-requeue"]
    if sub.runtime_min is not None:
        argv.append(f"--time={sub.runtime_min}")
    if sub.mem_mb is not None:
        argv.append(f"--mem={sub.mem_mb}M")
    if sub.partition:
        argv.append(f"--partition={sub.partition}")
    if sub.dependencies:
        argv.append("--dependency=afterok:" + ":".join(sub.dependencies))
    if sub.export is not None:
        argv.append(f"--export={sub.export}")
    argv += list(sub.extra)
    argv.append(sub.script)
    return argv


def parse_sbatch(stdout: str) -> int:
    """`sbatch --parsable` prints `jobid` or `jobid;cluster`; ValueError without."""
    first = stdout.strip().splitlines()[0] if stdout.strip() else ""
    job_id = first.split(";")[0].strip()
    if not job_id.isdigit():
        raise ValueError(f"sbatch gave no job id: {stdout[-200:]!r}")
    return int(job_id)


def upstream(inputs: Iterable[str], producer: Mapping[str, str]) -> tuple[str, ...]:
    """The Slurm ids of the jobs that write these inputs ({file: job id}), in
    submission order."""
    ids = {producer[f] for f in inputs if f in producer}
    return tuple(sorted(ids, key=lambda i: (len(i), i)))
