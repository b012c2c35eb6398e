"""The task runner's file copies never follow a link an executor or a user
planted: not in the source, not in the destination's folders, not at its name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.tes import safefs


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path, Path]:
    work, root, secret = tmp_path / "work", tmp_path / "root", tmp_path / "secret"
    for folder in (work / "data", root, secret):
        folder.mkdir(parents=True)
    (secret / "key").write_text("do not copy")
    return work, root, secret


def test_a_plain_copy_makes_its_folders(tree: tuple[Path, Path, Path]) -> None:
    work, root, _ = tree
    (work / "data" / "out.txt").write_text("result")
    assert safefs.copy_file(str(work), "/data/out.txt", str(root), "a/b/out.txt") == 6
    assert (root / "a" / "b" / "out.txt").read_text() == "result"


def test_a_linked_source_is_refused(tree: tuple[Path, Path, Path]) -> None:
    work, root, secret = tree
    (work / "data" / "out.txt").symlink_to(secret / "key")
    (work / "linked").symlink_to(secret)
    with pytest.raises(safefs.Refused):
        safefs.copy_file(str(work), "/data/out.txt", str(root), "out.txt")
    with pytest.raises(safefs.Refused):
        safefs.copy_file(str(work), "/linked/key", str(root), "out.txt")
    assert not (root / "out.txt").exists()


def test_a_linked_destination_is_refused(tree: tuple[Path, Path, Path]) -> None:
    work, root, secret = tree
    (work / "data" / "out.txt").write_text("overwrite?")
    (root / "sub").symlink_to(secret)
    (root / "file").symlink_to(secret / "key")
    for dest in ("sub/key", "file"):
        with pytest.raises(safefs.Refused):
            safefs.copy_file(str(work), "/data/out.txt", str(root), dest)
    assert (secret / "key").read_text() == "do not copy"


def test_fifos_and_folders_are_no_files(tree: tuple[Path, Path, Path]) -> None:
    work, root, _ = tree
    os.mkfifo(work / "data" / "fifo")
    for source in ("/data/fifo", "/data"):
        with pytest.raises(safefs.Refused):
            safefs.copy_file(str(work), source, str(root), "x")


def test_folder_walks_leave_links_out(tree: tuple[Path, Path, Path]) -> None:
    work, _, secret = tree
    (work / "data" / "a").mkdir()
    (work / "data" / "a" / "one").write_text("1")
    (work / "data" / "two").write_text("2")
    (work / "data" / "link").symlink_to(secret)
    (work / "data" / "a" / "key").symlink_to(secret / "key")
    assert safefs.files_under(str(work), "/data") == ["a/one", "two"]
    with pytest.raises(safefs.Refused):
        safefs.parts_of("/data/../x")

