"""Removing a run's folder, whatever its command left in it."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from pathlib import Path


def remove(folder: Path) -> bool:
    """Remove a run's folder, whatever modes its command left in work/ (`chmod 500`
    on a subfolder stops a plain rmtree): the folders of the service's that refuse
    are given back their owner's rights, never following a link, and it is tried
    again. Whether the folder is gone."""
    shutil.rmtree(folder, ignore_errors=True)
    if not os.path.lexists(folder):
        return True
    give_back_rights(folder)
    shutil.rmtree(folder, ignore_errors=True)
    return not os.path.lexists(folder)


def give_back_rights(top: Path) -> None:
    """Give the service's own folders under `top` back their owner's rights (links
    never followed)."""
    def unlock(path: str) -> None:
        with contextlib.suppress(OSError):
            info = os.lstat(path)
            if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid():
                os.chmod(path, stat.S_IMODE(info.st_mode) | stat.S_IRWXU)

    unlock(str(top))
    # Top-down: a folder is unlocked before the walk enters it.
    for root, dirs, _ in os.walk(top):
        for name in dirs:
            unlock(os.path.join(root, name))
