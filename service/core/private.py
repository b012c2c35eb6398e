"""Everything the service writes is its own: on a login node shared with every
user of the cluster, its folders are 0700 and its files 0600, whatever the
account's umask and whatever an older version or an admin left behind.

Run keys are capabilities and the database holds every key and password hash:
a neighbour able to read either could read or end other users' runs."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

# Files 0600, folders 0700: what the service creates is for the service alone.
PRIVATE_UMASK = 0o077
PRIVATE_DIR_MODE = 0o700


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Files 0600 and folders 0700 for what is created meanwhile (the umask is the
    process's: restored after, for callers such as tests that go on)."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


def make_private(folders: Iterable[Path]) -> None:
    """Create each folder 0700, or make an existing one (of ours) 0700: an older
    install, or an admin's `mkdir`, may have left it 0755. Links are not followed:
    a folder that is a link is left alone (its target is the admin's choice)."""
    for folder in folders:
        folder.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        info = os.lstat(folder)
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() \
                and stat.S_IMODE(info.st_mode) & 0o077:
            os.chmod(folder, stat.S_IMODE(info.st_mode) & 0o700, follow_symlinks=False)


def private_files_under(folder: Path) -> None:
    """Take group and other bits off the service's own files in `folder` (not
    recursively: its database, secret and lock), as `make_private` does for folders."""
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid() \
                    and stat.S_IMODE(info.st_mode) & 0o077:
                os.chmod(entry.path, stat.S_IMODE(info.st_mode) & 0o700)


def become_owner_of(state_dir: Path) -> str | None:
    """Run as the account that owns the state folder when started as root (an
    admin's `sudo ws admin ...`): files root would create there (the database's
    journal, say) would lock the service out of its own state. Returns the name
    taken on, or None when nothing changed."""
    if os.geteuid() != 0:
        return None
    try:
        info = os.stat(state_dir)
    except OSError:
        return None  # nothing there yet: whoever creates it owns it
    if info.st_uid == 0:
        return None
    import pwd  # Unix only, and only here

    account = pwd.getpwuid(info.st_uid)
    os.setgroups([])
    os.setgid(account.pw_gid)
    os.setuid(account.pw_uid)
    print(f"ws: running as {account.pw_name}, the owner of {state_dir}", file=sys.stderr)
    return account.pw_name
