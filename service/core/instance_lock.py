"""One `ws serve` per state folder: a lock the running process holds on
{state_dir}/ws.lock. The kernel drops it when the process dies, however it
dies, so a dead, killed or zombie service never blocks a restart (a pid file
would: a dying service's parent lingers and answers `kill -0`)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = "ws.lock"


class AlreadyRunning(Exception):
    """Another process holds the state folder's lock."""

    def __init__(self, lock_file: Path, holder: str) -> None:
        super().__init__(f"another ws serve (pid {holder or 'unknown'}) already uses "
                         f"{lock_file.parent}; stop it first, or give this one another "
                         "state_dir")
        self.lock_file = lock_file


@contextlib.contextmanager
def hold_instance_lock(state_dir: Path) -> Iterator[None]:
    """Hold the lock for the block; AlreadyRunning if another process has it."""
    state_dir.mkdir(parents=True, exist_ok=True)
    lock_file = state_dir / LOCK_NAME
    # Not inherited by the processes the service starts (O_CLOEXEC): a warm
    # Snakemake outliving a killed service must not keep the lock.
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(lock_file, os.pread(fd, 32, 0).decode(errors="replace")
                                 .strip()) from None
        # The pid is for the admin who reads the file; the lock alone decides.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
