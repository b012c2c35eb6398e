"""squeue: the argv of the questions ws asks it. Its answers are read by
states.parse_states and named.parse_named_jobs (sacct's alike)."""

from __future__ import annotations

from collections.abc import Iterable

STATES_FORMAT = "--format=%i|%T"
# %Z (the working directory) last: a path may hold the separator.
NAMED_FORMAT = "--format=%i|%T|%j|%Z"


def states_argv(job_ids: Iterable[int] | None = None, squeue: str = "squeue") -> list[str]:
    """The states of these jobs; None: of every job of the calling account, finished
    ones included while Slurm still remembers them (MinJobAge). Asked by id, squeue
    fails as a whole when it no longer knows one of them."""
    argv = [squeue, "--noheader", "--states=all", STATES_FORMAT]
    if job_ids is None:
        return [squeue, "--me", *argv[1:]]
    return [*argv, "--jobs=" + ",".join(str(i) for i in sorted(set(job_ids)))]


def by_name_argv(names: Iterable[str], squeue: str = "squeue") -> list[str]:
    return [squeue, "--me", "--noheader", "--states=all", NAMED_FORMAT,
            "--name=" + ",".join(sorted(set(names)))]
