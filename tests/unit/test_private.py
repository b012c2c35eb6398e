"""core/private.py: the service's folders 0700, its files 0600, whatever was there."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from service.core import atomic
from service.core.private import make_private, private_files_under


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_new_and_older_folders_become_0700(tmp_path: Path) -> None:
    older = tmp_path / "older"
    older.mkdir(mode=0o755)
    os.chmod(older, 0o755)
    make_private((older, tmp_path / "new" / "runs"))
    assert _mode(older) == 0o700
    assert _mode(tmp_path / "new" / "runs") == 0o700


def test_a_folder_that_is_a_link_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    os.chmod(target, 0o755)
    (tmp_path / "link").symlink_to(target)
    make_private((tmp_path / "link",))
    assert _mode(target) == 0o755


def test_the_service_files_lose_group_and_other_bits(tmp_path: Path) -> None:
    (tmp_path / "ws.sqlite3").write_text("")
    os.chmod(tmp_path / "ws.sqlite3", 0o644)
    private_files_under(tmp_path)
    assert _mode(tmp_path / "ws.sqlite3") == 0o600


def test_atomic_writes_are_private_by_default(tmp_path: Path) -> None:
    atomic.write_json(tmp_path / "state.json", {"cr": "WAIT"})
    atomic.write_text(tmp_path / "job.sh", "#!/bin/bash\n", mode=0o700)
    assert _mode(tmp_path / "state.json") == 0o600
    assert _mode(tmp_path / "job.sh") == 0o700


def test_the_private_umask_is_given_back(tmp_path: Path) -> None:
    from service.core.private import private_umask

    before = os.umask(0o022)
    try:
        with private_umask():
            (tmp_path / "inside").write_text("")
        (tmp_path / "after").write_text("")
        assert _mode(tmp_path / "inside") == 0o600
        assert _mode(tmp_path / "after") == 0o644
    finally:
        os.umask(before)
