"""Zips cannot make folders without end, nor paths the file system refuses: the
folders an entry implies are budgeted, long paths are refused, and what the file
system still refuses of an upload is a 400/413/507, never a 500."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from service.core.config import LimitsConfig
from service.core.errors import InvalidParameter, StorageFull, TooLarge
from service.core.store import Store
from service.runs import folder
from service.runs.folder import treat_inputs
from tests.zips import make_zip

from .helpers import assert_error_shape, token_for
from .test_runfolder import upload


def _folders(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.is_dir())


def test_implied_folders_are_budgeted(tmp_path: Path) -> None:
    # 50 entries, each 20 folders deep on a path of its own: 1000 folders.
    deep = {"/".join(f"d{i}_{j}" for j in range(20)) + "/f": b"" for i in range(50)}
    files = [upload(tmp_path, "deep.zip", make_zip(deep))]
    work = tmp_path / "work"
    with pytest.raises(TooLarge, match="more than 999 folders"):
        treat_inputs(work, ("deep.zip",), files, LimitsConfig(max_upload_folders=999))
    assert _folders(work) == 0  # refused before anything is unpacked
    treat_inputs(tmp_path / "w2", ("deep.zip",), files, LimitsConfig(max_upload_folders=1000))
    assert _folders(tmp_path / "w2") == 1000


def test_folders_count_once_across_the_zips_of_a_request(tmp_path: Path) -> None:
    files = [upload(tmp_path, "a.zip", make_zip({"x/y/a": b"", "x/y/b": b""})),
             upload(tmp_path, "b.zip", make_zip({"x/y/c": b"", "x/z/": b""}))]
    treat_inputs(tmp_path / "w", ("a.zip", "b.zip"), files, LimitsConfig(max_upload_folders=3))
    files.append(upload(tmp_path, "c.zip", make_zip({"q/a": b""})))
    with pytest.raises(TooLarge):
        treat_inputs(tmp_path / "w2", ("a.zip", "b.zip", "c.zip"), files,
                     LimitsConfig(max_upload_folders=3))


def test_the_default_budget_is_sane() -> None:
    assert LimitsConfig().max_upload_folders == 1000


@pytest.mark.parametrize("name", [
    "/".join(["a" * 200] * 21),     # 4,220 bytes of names of 200: ENAMETOOLONG today
    "/".join(["b" * 100] * 11),     # just over 1,024 bytes
    "c" * 256,                      # one name over 255 bytes
])
def test_long_paths_are_refused(tmp_path: Path, name: str) -> None:
    files = [upload(tmp_path, "long.zip", make_zip({name: b"x"}))]
    with pytest.raises(InvalidParameter):
        treat_inputs(tmp_path / "w", ("long.zip",), files, LimitsConfig())


def test_a_path_of_1024_bytes_is_taken(tmp_path: Path) -> None:
    name = "/".join(["d" * 101] * 10) + "/" + "f" * 4
    assert len(name.encode()) == 1024
    files = [upload(tmp_path, "ok.zip", make_zip({name: b"x"}))]
    treat_inputs(tmp_path / "w", ("ok.zip",), files, LimitsConfig())
    assert (tmp_path / "w" / name).read_bytes() == b"x"


@pytest.mark.parametrize(("code", "error"), [
    (errno.ENAMETOOLONG, InvalidParameter), (errno.EILSEQ, InvalidParameter),
    (errno.EMLINK, TooLarge), (errno.ENOSPC, StorageFull), (errno.EDQUOT, StorageFull),
])
def test_what_the_file_system_refuses_is_the_requests_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int,
        error: type[Exception]) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError(code, "refused")

    monkeypatch.setattr(shutil, "copyfile", refuse)
    files = [upload(tmp_path, "a.txt", b"x")]
    with pytest.raises(error):
        treat_inputs(tmp_path / "w", ("a.txt",), files, LimitsConfig())


def test_a_zip_with_a_bad_utf8_name_is_a_400(tmp_path: Path) -> None:
    data = bytearray(make_zip({"n\u00e9.txt": b"x"}))  # flagged UTF-8 (bit 11)
    data = bytearray(bytes(data).replace("n\u00e9".encode(), b"n\xff\xfe"))
    files = [upload(tmp_path, "bad.zip", bytes(data))]
    with pytest.raises(InvalidParameter):
        treat_inputs(tmp_path / "w", ("bad.zip",), files, LimitsConfig())


async def test_the_post_answers_400_not_500(client: TestClient[Any, Any],
                                            catalogue_data: Store) -> None:
    token = await token_for(client, "bob")
    form = FormData()
    form.add_field("cmd", "true")
    form.add_field("file", make_zip({"/".join(["a" * 200] * 21): b"x"}),
                   filename="long.zip", content_type="application/zip")
    resp = await client.post("/api/software/muse/run/sw_example", data=form,
                             headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 400, await resp.text()
    assert_error_shape(await resp.json(), "bad_parameter")
    assert folder.MAX_ENTRY_PATH_BYTES == 1024


def test_stdout_is_not_read_through_a_linked_work_folder(tmp_path: Path) -> None:
    """Identity mode "unix": the user owns the run folder and may swap its work/
    for a link to another user's; no step of the path is followed."""
    from service.runs.folder import RunFolder
    from service.runs.results import open_stdout
    other = tmp_path / "other" / "work"
    other.mkdir(parents=True)
    (other / "stdout.txt").write_text("not yours")
    run = tmp_path / "run"
    run.mkdir()
    (run / "work").symlink_to(other)
    assert open_stdout(RunFolder(run)) is None
    (tmp_path / "linked-run").symlink_to(other.parent)
    assert open_stdout(RunFolder(tmp_path / "linked-run")) is None
