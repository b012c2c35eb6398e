"""scancel: its argv, and the refusals that are no error (the job is over)."""

from __future__ import annotations

from collections.abc import Iterable

# What Slurm says when asked to cancel a job that is over: scancel on stderr
# (exiting 0 or 1 alike), slurm-drmaa in its exception.
ALREADY_OVER = ("already completing or completed", "Invalid job id")


def scancel_argv(job_ids: Iterable[int], scancel: str = "scancel") -> list[str]:
    ids = sorted(set(job_ids))
    if not ids:
        raise ValueError("no job to cancel")
    return [scancel, *(str(i) for i in ids)]


def already_over(message: str) -> bool:
    return any(words in message for words in ALREADY_OVER)


def cancelled(returncode: int, stderr: str) -> bool:
    """Whether scancel did its part: it did, or the jobs were over already."""
    return returncode == 0 or already_over(stderr)
