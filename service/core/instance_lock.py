"""One `ws serve` per state folder: a lock the running process holds on
{state_dir}/ws.lock. The kernel drops it when the process dies, however it
dies, so a dead, killed or zombie service never blocks a restart (a pid file
would: a dying service's parent lingers and answers `kill -0`).

The kernel drops it at the end of the holder's exit, not at the kill: a
service killed a moment ago may still hold it while it tears down its memory,
longer on a loaded login node. A start that finds the holder exiting waits
for it (up to EXITING_HOLDER_WAIT_S). Any holder is also given PROBE_GRACE_S:
`flock -n ws.lock true` (service.sh's "is it running?", or an admin's) holds
the lock for an instant, and a start must not lose to it. A live holder is
refused after that grace."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = "ws.lock"
EXITING_HOLDER_WAIT_S = 30.0
PROBE_GRACE_S = 1.0
_PF_EXITING = 0x4  # include/linux/sched.h: the task is in do_exit
_SIGKILL_BIT = 1 << (9 - 1)


def is_exiting(stat: str, status: str) -> bool:
    """Whether /proc/PID's stat and status texts show a process on its way out:
    a zombie, in do_exit, or with a SIGKILL not yet acted on."""
    fields = stat[stat.rfind(")") + 2:].split()  # the command name may hold spaces
    if fields[0] in ("Z", "X") or int(fields[6]) & _PF_EXITING:
        return True
    pending = (line.split(":", 1)[1] for line in status.splitlines()
               if line.startswith(("SigPnd:", "ShdPnd:")))
    return any(int(mask, 16) & _SIGKILL_BIT for mask in pending)


def holder_is_exiting(holder: str) -> bool:
    """Whether the pid read from the lock file is gone or going: either way the
    lock is about to be free. Unknown when the file holds no pid: not exiting."""
    if not holder.isdigit():
        return False
    proc = Path("/proc") / holder
    try:
        return is_exiting((proc / "stat").read_text(), (proc / "status").read_text())
    except (FileNotFoundError, ProcessLookupError):
        return True


class AlreadyRunning(Exception):
    """Another process holds the state folder's lock."""

    def __init__(self, lock_file: Path, holder: str) -> None:
        super().__init__(f"another ws serve (pid {holder or 'unknown'}) already uses "
                         f"{lock_file.parent}; stop it first, or give this one another "
                         "state_dir")
        self.lock_file = lock_file


@contextlib.contextmanager
def hold_instance_lock(state_dir: Path,
                       exiting_wait_s: float = EXITING_HOLDER_WAIT_S) -> Iterator[None]:
    """Hold the lock for the block; AlreadyRunning if another process has it
    after PROBE_GRACE_S, or after exiting_wait_s if that process is exiting."""
    state_dir.mkdir(parents=True, exist_ok=True)
    lock_file = state_dir / LOCK_NAME
    # Not inherited by the processes the service starts (O_CLOEXEC): a warm
    # Snakemake outliving a killed service must not keep the lock.
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        _take(fd, lock_file, time.monotonic(), exiting_wait_s)
        # The pid is for the admin who reads the file; the lock alone decides.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def _take(fd: int, lock_file: Path, started: float, exiting_wait_s: float) -> None:
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            waited = time.monotonic() - started
            if waited >= PROBE_GRACE_S and (waited >= exiting_wait_s
                                            or not holder_is_exiting(holder)):
                raise AlreadyRunning(lock_file, holder) from None
            time.sleep(0.05)
