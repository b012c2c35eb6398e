"""Run folders of an older ws, which named them by their run key: renamed at start
to the name that reveals no key (folder.folder_name)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from service.runs.folder import KEY_RE, run_path


def rename(runs_dir: Path) -> int:
    """An older ws named run folders by their key: each is renamed to its folder
    name, and a link left at the old name, because jobs already in Slurm write to
    that path (runs_dir is the service's alone: no one else sees the link).
    Retention removes the link with the run. The number renamed."""
    renamed = 0
    try:
        entries = list(os.scandir(runs_dir))
    except FileNotFoundError:
        return renamed
    for entry in entries:
        if not KEY_RE.fullmatch(entry.name) or not entry.is_dir(follow_symlinks=False):
            continue
        target = run_path(runs_dir, entry.name)
        if os.path.lexists(target):
            continue
        os.rename(entry.path, target)
        os.symlink(target.name, entry.path)
        renamed += 1
    return renamed


def remove_link(runs_dir: Path, key: str) -> None:
    """The link an older ws's folder name left (rename), if any."""
    with contextlib.suppress(FileNotFoundError):
        if (runs_dir / key).is_symlink():
            os.unlink(runs_dir / key)
