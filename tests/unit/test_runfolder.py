"""Input treatment: order, overwriting, unzip, and every unsafe zip refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.core.config import LimitsConfig
from service.core.errors import InvalidParameter, NotFound, TooLarge
from service.core.params import UploadedFile
from service.runs import removal
from service.runs.folder import check_files_order, find, treat_inputs
from tests.zips import make_zip


def upload(tmp_path: Path, name: str, data: bytes) -> UploadedFile:
    src = tmp_path / "uploads"
    src.mkdir(exist_ok=True)
    path = src / f"{len(list(src.iterdir())):04d}"
    path.write_bytes(data)
    return UploadedFile(name, path, len(data))


def test_order_and_overwrite(tmp_path: Path) -> None:
    files = [upload(tmp_path, "a.txt", b"first"), upload(tmp_path, "b.txt", b"b"),
             upload(tmp_path, "a.txt", b"second")]
    work = tmp_path / "work"
    treat_inputs(work, ("b.txt", "a.txt"), files, LimitsConfig())
    assert (work / "a.txt").read_bytes() == b"second"


def test_zip_is_copied_then_unzipped_in_order(tmp_path: Path) -> None:
    files = [upload(tmp_path, "in.zip", make_zip({"stdin.txt": b"1 2", "d/x": b"x"})),
             upload(tmp_path, "stdin.txt", b"15 55")]
    work = tmp_path / "work"
    treat_inputs(work, ("in.zip", "stdin.txt"), files, LimitsConfig())
    assert (work / "stdin.txt").read_bytes() == b"15 55"
    assert (work / "d" / "x").read_bytes() == b"x"
    assert (work / "in.zip").is_file()
    treat_inputs(work, ("stdin.txt", "in.zip"), files, LimitsConfig())
    assert (work / "stdin.txt").read_bytes() == b"1 2"


@pytest.mark.parametrize("entries,symlink", [
    ({"../evil": b"x"}, None),
    ({"/abs": b"x"}, None),
    ({"a/../../evil": b"x"}, None),
    ({"ok": b"x"}, "link"),
    ({"bad\nname": b"x"}, None),
    ({"back\\slash": b"x"}, None),
])
def test_unsafe_zip_refused_and_nothing_extracted(tmp_path: Path,
                                                  entries: dict[str, bytes],
                                                  symlink: str | None) -> None:
    files = [upload(tmp_path, "in.zip", make_zip({"first": b"1", **entries}, symlink))]
    work = tmp_path / "work"
    with pytest.raises(InvalidParameter):
        treat_inputs(work, ("in.zip",), files, LimitsConfig())
    assert not (work / "first").exists()
    assert not (tmp_path / "evil").exists()


def test_zip_bomb_limits(tmp_path: Path) -> None:
    bomb = make_zip({"zeros": b"\0" * 2_000_000})
    files = [upload(tmp_path, "bomb.zip", bomb)]
    with pytest.raises(TooLarge):
        treat_inputs(tmp_path / "w1", ("bomb.zip",), files,
                     LimitsConfig(max_unzipped_bytes=1_000_000))
    many = make_zip({f"f{i}": b"" for i in range(20)})
    files = [upload(tmp_path, "many.zip", many)]
    with pytest.raises(TooLarge):
        treat_inputs(tmp_path / "w2", ("many.zip",), files, LimitsConfig(max_zip_entries=10))


def test_files_order_must_name_every_upload(tmp_path: Path) -> None:
    files = [upload(tmp_path, "a", b""), upload(tmp_path, "b", b"")]
    with pytest.raises(InvalidParameter):
        check_files_order(("a",), files)


@pytest.mark.parametrize("key", ["..", "../etc", "x", "58ae6cea-df31-4059-9466-b817c337985d/..",
                                 "58AE6CEA-DF31-4059-9466-B817C337985D"])
def test_find_refuses_anything_but_a_key(tmp_path: Path, key: str) -> None:
    with pytest.raises(NotFound):
        find(tmp_path, key)


def test_a_folder_a_command_locked_is_removed_all_the_same(tmp_path: Path) -> None:
    # A run's `chmod 500 work/sub` (or 000) once made retention leave its files behind
    # (as a non-root service: the unit tests run as an ordinary user in test.sh).
    run = tmp_path / "run"
    for sub in ("work/locked/deeper", "work/closed"):
        (run / sub).mkdir(parents=True)
    (run / "work" / "locked" / "deeper" / "f").write_text("x")
    (run / "work" / "closed" / "g").write_text("y")
    os.chmod(run / "work" / "locked" / "deeper", 0o500)
    os.chmod(run / "work" / "locked", 0o500)
    os.chmod(run / "work" / "closed", 0o000)
    assert removal.remove(run)
    assert not run.exists()
