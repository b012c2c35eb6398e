"""Atomic writes and syncing a run folder before it is published."""

from __future__ import annotations

import os
from pathlib import Path

from service.core import atomic


def test_sync_tree_syncs_files_and_passes_links_and_fifos(tmp_path: Path) -> None:
    # A run folder is synced whole before POST answers; whatever lies in it, the
    # sync neither follows a link out of it nor waits on a FIFO.
    root = tmp_path / "run"
    (root / "work" / "sub").mkdir(parents=True)
    (root / "request.json").write_text("{}\n")
    (root / "work" / "sub" / "input.txt").write_text("data\n")
    outside = tmp_path / "outside"
    outside.write_text("not ours\n")
    (root / "work" / "link").symlink_to(outside)
    os.mkfifo(root / "work" / "fifo")
    atomic.sync_tree(root)
    atomic.sync_dir(tmp_path)
    assert (root / "work" / "sub" / "input.txt").read_text() == "data\n"


def test_write_json_replaces_whole(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    atomic.write_json(path, {"cr": "WAIT"})
    atomic.write_json(path, {"cr": "OK"}, durable=False)
    assert atomic.read_json(path) == {"cr": "OK"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
