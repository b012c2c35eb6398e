"""request.json: versioned; every version so far reads back, and one that cannot
be read is an unknown run (404), never a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from service.core.errors import NotFound
from service.core.params import Params
from service.runs.folder import RunFolder
from service.runs.parameters import parse_run_request
from service.runs.record import RunRecord, load_record
from service.runs.request import REQUEST_VERSION


def record() -> RunRecord:
    request = parse_run_request(Params(values={"cmd": "python /add.py 4 5",
                                               "sbatch_list": ["--time=5"]}), cluster=True)
    return RunRecord(key="k" * 32, name="sw_example", owner="alice", number=7,
                     kind="cluster", service="ws", request=request, created=1.0)


def folder_with(tmp_path: Path, data: Any) -> RunFolder:
    folder = RunFolder(tmp_path / ("k" * 32))
    folder.path.mkdir()
    folder.request_file.write_text(json.dumps(data))
    return folder


def test_request_json_carries_its_version(tmp_path: Path) -> None:
    data = record().to_dict()
    assert data["version"] == REQUEST_VERSION
    assert load_record(folder_with(tmp_path, data)) == record()


def test_a_version_1_folder_reads_back(tmp_path: Path) -> None:
    data = record().to_dict()
    del data["version"]  # version 1 had no such field
    assert load_record(folder_with(tmp_path, data)) == record()


@pytest.mark.parametrize("data", [
    {**record().to_dict(), "version": REQUEST_VERSION + 1},
    {**record().to_dict(), "version": "2"},
    {"version": 2},
    [1, 2],
    {**record().to_dict(), "request": {"cmd_option": ""}},
])
def test_an_unreadable_record_is_an_unknown_run(tmp_path: Path, data: Any) -> None:
    with pytest.raises(NotFound):
        load_record(folder_with(tmp_path, data))


def test_a_missing_record_is_an_unknown_run(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / ("k" * 32))
    with pytest.raises(NotFound):
        load_record(folder)
