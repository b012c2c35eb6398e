"""Copying files where others' links may lie: every folder is opened from a
trusted one by name, never following a link (O_NOFOLLOW at each step), so a
link an executor or a user planted leads nowhere. Used by the job's runner."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
CHUNK = 1 << 20


class Refused(Exception):
    """A path that is not what it should be (a link, a device, missing...)."""


def parts_of(relative: str) -> list[str]:
    parts = [x for x in relative.split("/") if x]
    if any(x in (".", "..") for x in parts):
        raise Refused(f"{relative!r} is not a plain path")
    return parts


@contextmanager
def folder(base: str, relative: str, create: bool = False) -> Iterator[int]:
    """An fd of the folder `relative` under `base` (a trusted, real path), reached
    one name at a time without following links; made if `create`."""
    fd = os.open(base, DIR_FLAGS)
    try:
        for name in parts_of(relative):
            if create:
                with suppress(FileExistsError):
                    os.mkdir(name, 0o755, dir_fd=fd)
            try:
                child = os.open(name, DIR_FLAGS, dir_fd=fd)
            except OSError as e:
                raise Refused(f"{relative!r}: {name!r} is no folder ({e.strerror})") from e
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def split(relative: str) -> tuple[str, str]:
    parts = parts_of(relative)
    if not parts:
        raise Refused("no file name")
    return "/".join(parts[:-1]), parts[-1]


def open_read(base: str, relative: str) -> int:
    """A regular file under `base`, for reading (Refused if anything else)."""
    folder_part, name = split(relative)
    with folder(base, folder_part) as dfd:
        try:
            fd = os.open(name, READ_FLAGS, dir_fd=dfd)
        except OSError as e:
            raise Refused(f"{relative!r} cannot be read ({e.strerror})") from e
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise Refused(f"{relative!r} is not a regular file")
    os.set_blocking(fd, True)
    return fd


def open_write(base: str, relative: str) -> int:
    folder_part, name = split(relative)
    with folder(base, folder_part, create=True) as dfd:
        try:
            return os.open(name, WRITE_FLAGS, 0o644, dir_fd=dfd)
        except OSError as e:
            raise Refused(f"{relative!r} cannot be written ({e.strerror})") from e


def pump(src: int, dst: int) -> int:
    total = 0
    while chunk := os.read(src, CHUNK):
        view = memoryview(chunk)
        while view:
            view = view[os.write(dst, view):]
        total += len(chunk)
    return total


def copy_file(src_base: str, src: str, dst_base: str, dst: str) -> int:
    """One file, its size; neither side's links followed."""
    fd_in = open_read(src_base, src)
    try:
        fd_out = open_write(dst_base, dst)
        try:
            return pump(fd_in, fd_out)
        finally:
            os.close(fd_out)
    finally:
        os.close(fd_in)


def files_under(base: str, relative: str) -> list[str]:
    """The regular files of a folder tree (relative to it), links left out."""
    found: list[str] = []

    def walk(rel: str) -> None:
        with folder(base, f"{relative}/{rel}" if rel else relative) as fd:
            entries = sorted(os.scandir(fd), key=lambda e: e.name)
        for entry in entries:
            child = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                walk(child)
            elif entry.is_file(follow_symlinks=False):
                found.append(child)
    walk("")
    return found

