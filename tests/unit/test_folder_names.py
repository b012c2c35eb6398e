"""Run folders are named by a one-way hash of the run key: Slurm shows every
cluster user a job's working folder, and the key alone reads the run. Folders an
older ws named by their key are renamed at start, and still found."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from service.core import atomic
from service.core.errors import NotFound
from service.core.store import Store
from service.runs import legacy_folders
from service.runs.folder import FOLDER_NAME_RE, RunFolder, find, folder_name, new_key, run_path
from service.runs.ledger import Ledger
from service.runs.retention import remove_run_folders
from service.runs.run_zip import zip_folder
from service.runs.state import RunState
from tests.unit.test_ledger import KEYS, write_run


def test_a_folder_name_reveals_nothing_of_its_key() -> None:
    key = new_key()
    name = folder_name(key)
    assert FOLDER_NAME_RE.fullmatch(name) and name == folder_name(key)
    assert folder_name(new_key()) != name
    # No run of eight characters of the key is in the name.
    bare = key.replace("-", "")
    assert not any(bare[i:i + 8] in name for i in range(len(bare) - 7))


def test_a_run_is_found_by_its_key_never_by_its_folder_name(tmp_path: Path) -> None:
    write_run(tmp_path, KEYS[0], 1, "cluster", RunState().to_dict())
    assert find(tmp_path, KEYS[0]).path == tmp_path / folder_name(KEYS[0])
    with pytest.raises(NotFound):
        find(tmp_path, folder_name(KEYS[0]))


async def test_an_older_wss_folders_are_renamed_and_still_served(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_run(runs, KEYS[0], 1, "cluster", RunState(jobs=(7,)).to_dict())
    (runs / folder_name(KEYS[0])).rename(runs / KEYS[0])  # as an older ws named it
    ledger = Ledger(Store(tmp_path / "ws.sqlite3"), runs)
    ledger.reindex()
    await ledger.load()
    assert (runs / folder_name(KEYS[0])).is_dir() and not (runs / folder_name(KEYS[0])).is_symlink()
    # Its jobs, already in Slurm, write to the old path: a link leads there.
    assert os.readlink(runs / KEYS[0]) == folder_name(KEYS[0])
    assert ledger.live_state(KEYS[0]).jobs == (7,)  # type: ignore[union-attr]
    assert find(runs, KEYS[0]).path == runs / folder_name(KEYS[0])
    assert legacy_folders.rename(runs) == 0  # done once
    # Retention takes the link with the folder.
    assert remove_run_folders(runs, [KEYS[0]]) == [KEYS[0]]
    assert sorted(os.listdir(runs)) == []


def test_reindex_leaves_out_a_folder_not_named_for_its_key(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_run(runs, KEYS[0], 1, "cluster", RunState().to_dict())
    write_run(runs, KEYS[1], 2, "cluster", RunState().to_dict())
    # A folder copied in under another run's name: not that run, nor its own.
    (run_path(runs, KEYS[1])).rename(runs / folder_name(KEYS[2]))
    ledger = Ledger(Store(tmp_path / "ws.sqlite3"), runs)
    assert ledger.reindex() == 1
    assert ledger.store.get_run(KEYS[0]) and not ledger.store.get_run(KEYS[1])


def test_a_run_zip_is_named_by_the_key_the_client_knows(tmp_path: Path) -> None:
    write_run(tmp_path, KEYS[0], 1, "cluster", RunState().to_dict())
    folder = RunFolder(run_path(tmp_path, KEYS[0]))
    atomic.write_text(folder.path / "status" / "x.exit", "0\n")
    zip_folder(folder, tmp_path / "run.zip")
    with zipfile.ZipFile(tmp_path / "run.zip") as z:
        names = z.namelist()
    assert f"{KEYS[0]}/request.json" in names and f"{KEYS[0]}/status/x.exit" in names
    assert not any(folder_name(KEYS[0]) in n for n in names)
