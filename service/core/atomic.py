"""Atomic writes: a reader sees the old file or the new one, never half of it."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any


def write_text(path: Path, text: str, mode: int = 0o600, durable: bool = True) -> None:
    """durable=False skips the fsync: for files in a staging folder, which only
    become visible through a later rename."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with tmp.open("w") as f:
        f.write(text)
        if durable:
            f.flush()
            os.fsync(f.fileno())
    tmp.chmod(mode)
    os.replace(tmp, path)


def write_json(path: Path, data: Any, durable: bool = True) -> None:
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n", durable=durable)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def _fsync(path: str | Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_dir(path: Path) -> None:
    """Make the entries of a folder (a rename into it, say) survive a crash."""
    _fsync(path, os.O_RDONLY | os.O_DIRECTORY)


def sync_tree(root: Path) -> None:
    """fsync every file and folder under `root` (links not followed): a tree
    written without syncs, made durable at once before it is published. The
    first fsync commits the file system's journal for all of them, so the
    others are cheap; concurrent callers share those commits too."""
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if not stat.S_ISREG(os.lstat(path).st_mode):
                continue  # a link, or a FIFO an open would wait on
            _fsync(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        sync_dir(Path(folder))
