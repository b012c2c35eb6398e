"""sacct: the argv of the questions ws asks it, and its one failure that is not
passing."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence


def states_argv(job_ids: Iterable[int], sacct: str = "sacct") -> list[str]:
    ids = ",".join(str(i) for i in sorted(set(job_ids)))
    return [sacct, "--noheader", "--parsable2", "--allocations", f"--jobs={ids}",
            "--format=JobIDRaw,State"]


def by_name_argv(names: Iterable[str], since: float, sacct: str = "sacct",
                 users: Sequence[str] = ()) -> list[str]:
    """sacct looks back to midnight unless told: from `since` (epoch seconds). By
    name it shows the calling account's jobs only, unless asked for `users`' (by
    id, every user's: states_argv)."""
    start = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(since))
    whose = ["--user=" + ",".join(sorted(set(users)))] if users else []
    return [sacct, "--noheader", "--parsable2", "--allocations", *whose, f"--starttime={start}",
            "--name=" + ",".join(sorted(set(names))),
            "--format=JobIDRaw,State,JobName,WorkDir"]


def accounting_disabled(stderr: str) -> bool:
    """Whether sacct failed because the cluster keeps no accounting
    (AccountingStorageType=accounting_storage/none), not for a passing reason."""
    return "accounting storage is disabled" in stderr.lower()
