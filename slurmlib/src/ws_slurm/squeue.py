"""squeue: the argv of the questions ws asks it. Its answers are read by
states.parse_states and named.parse_named_jobs (sacct's alike)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

STATES_FORMAT = "--format=%i|%T"
# %Z (the working directory) last: a path may hold the separator.
NAMED_FORMAT = "--format=%i|%T|%j|%Z"


def whose(users: Sequence[str] = ()) -> str:
    """The jobs a question is about: the calling account's (--me), or these users'
    (a service submitting as its users, identity mode "unix")."""
    return "--users=" + ",".join(sorted(set(users))) if users else "--me"


def states_argv(job_ids: Iterable[int] | None = None, squeue: str = "squeue",
                users: Sequence[str] = ()) -> list[str]:
    """The states of these jobs; None: of every job of the calling account (or of
    `users`), finished ones included while Slurm still remembers them (MinJobAge).
    Asked by id, squeue fails as a whole when it no longer knows one of them."""
    argv = [squeue, "--noheader", "--states=all", STATES_FORMAT]
    if job_ids is None:
        return [squeue, whose(users), *argv[1:]]
    return [*argv, "--jobs=" + ",".join(str(i) for i in sorted(set(job_ids)))]


def by_name_argv(names: Iterable[str], squeue: str = "squeue",
                 users: Sequence[str] = ()) -> list[str]:
    return [squeue, whose(users), "--noheader", "--states=all", NAMED_FORMAT,
            "--name=" + ",".join(sorted(set(names)))]
