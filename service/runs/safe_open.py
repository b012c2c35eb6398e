"""Opening what a run left, as hostile: never through a link, regular files only."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from service.runs.folder import RunFolder

# The command runs as the service's own account and may leave anything in work/:
# a link named stdout.txt pointing at the service's database, a FIFO, a folder.
# What the service reads from a run folder is therefore opened without following
# a link in its last component (O_NOFOLLOW), and only regular files are read;
# folders are walked with os.fwalk and opened relative to their descriptors, so a
# folder swapped for a link mid-walk leads nowhere either.
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def open_regular(path: Path | str, dir_fd: int | None = None,
                  denied: bool = False) -> BinaryIO | None:
    """The file opened for reading if it is a regular file (not a link), else None
    (`denied`: PermissionError if the service may not read it)."""
    try:
        fd = os.open(path, _OPEN_FLAGS, dir_fd=dir_fd)
    except PermissionError:
        if denied:
            raise
        return None
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return os.fdopen(fd, "rb")


_DIR_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def open_in_run(folder: RunFolder, *parts: str, denied: bool = False) -> BinaryIO | None:
    """A regular file of the run folder, opened one step at a time from the run
    folder down, none of them followed if a link: in identity mode "unix" the
    user owns the folder and may swap its work/ (or the run folder itself) for a
    link to another user's, which the service could read through the group ACL.
    `denied`: PermissionError where a step is closed to the service (a link is
    never that: O_NOFOLLOW answers ELOOP or ENOTDIR)."""
    try:
        fd = os.open(folder.path, _DIR_FLAGS)
    except PermissionError:
        if denied:
            raise
        return None
    except OSError:
        return None
    try:
        for part in parts[:-1]:
            step = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = step
        return open_regular(parts[-1], fd, denied)
    except PermissionError:
        if denied:
            raise
        return None
    except OSError:
        return None
    finally:
        os.close(fd)


@contextlib.contextmanager
def run_subfolder(run: Path, name: str) -> Iterator[int | None]:
    """run/name (status/, tes/), reached from the run folder's parent (the runs
    folder: the service's, or in mode "unix" the admin's runs_dir/USER) without
    following a link at the run folder or at `name`; a descriptor (O_PATH) to read
    from by name, or None if either is not a real folder. In mode "unix" the user
    owns both and may swap either for a link to another user's run, which the
    service could read through the group ACL."""
    fds: list[int] = []
    try:
        fds.append(os.open(run.parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC))
        fds.append(os.open(run.name, _DIR_FLAGS, dir_fd=fds[-1]))
        fds.append(os.open(name, _DIR_FLAGS, dir_fd=fds[-1]))
        found: int | None = fds[-1]
    except OSError:
        found = None
    try:
        yield found
    finally:
        for fd in fds:
            os.close(fd)
