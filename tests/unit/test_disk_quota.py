"""A user's ended runs may keep so much on disk (limits.max_stored_mb_per_user):
each folder is measured once its run has ended, as if hostile, and a new run
beyond the quota is refused with the reason (507), others' runs unaffected."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.core.errors import StorageQuotaExceeded
from service.core.store import Store
from service.runs.disk_use import BLOCK, bytes_used
from service.runs.ledger import Ledger
from service.runs.state import OK, RunState
from tests.unit.test_ledger import builder, record_for

MB = 1024 * 1024


def test_a_folder_is_measured_by_what_it_allocates_links_never_followed(
        tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(b"x" * MB)
    run = tmp_path / "run"
    (run / "work" / "d").mkdir(parents=True)
    (run / "work" / "d" / "data").write_bytes(b"y" * MB)
    os.link(run / "work" / "d" / "data", run / "work" / "again")  # counted once
    os.symlink(outside, run / "work" / "link")  # never followed
    with (run / "work" / "sparse").open("wb") as f:  # a terabyte of holes costs nothing
        f.truncate(1 << 40)
    used = bytes_used(run)
    assert MB <= used < 1.2 * MB


@pytest.mark.skipif(os.geteuid() == 0, reason="root enters a locked folder anyway")
def test_a_folder_the_command_locked_is_measured_all_the_same(tmp_path: Path) -> None:
    locked = tmp_path / "run" / "work" / "locked"
    locked.mkdir(parents=True)
    (locked / "data").write_bytes(b"z" * MB)
    locked.chmod(0)
    assert bytes_used(tmp_path / "run") >= MB


async def test_an_ended_run_is_measured_and_counts_against_its_owner(
        tmp_path: Path) -> None:
    ledger = Ledger(Store(tmp_path / "ws.sqlite3"), tmp_path / "runs")
    (tmp_path / "runs").mkdir()
    (tmp_path / "staging").mkdir()
    build = builder(tmp_path / "staging")
    folder, record = await ledger.create("cluster", "sw_example", "alice",
                                         record_for("cluster"), build, None, 2 * MB)
    (folder.work).mkdir()
    (folder.work / "out").write_bytes(b"o" * 3 * MB)
    await ledger.change(record.key, RunState(cr=OK, latest_state="COMPLETED"))
    await ledger.measurer.idle()
    stored = ledger.store.get_run(record.key).stored_bytes  # type: ignore[union-attr]
    assert stored is not None and stored >= 3 * MB and stored % BLOCK == 0
    with pytest.raises(StorageQuotaExceeded) as refused:
        await ledger.create("cluster", "sw_example", "alice", record_for("cluster"), build,
                            None, 2 * MB)
    assert "alice's ended runs keep 3 MB on disk, and each user may keep 2 MB" in \
        refused.value.message
    # Another user is not held back by alice's runs; no bound, no refusal.
    await ledger.create("cluster", "sw_example", "bob", record_for("cluster", "bob"), build,
                        None, 2 * MB)
    await ledger.create("cluster", "sw_example", "alice", record_for("cluster"), build)
    ledger.close()


async def test_runs_ended_before_any_measure_are_measured_at_start(tmp_path: Path) -> None:
    store = Store(tmp_path / "ws.sqlite3")
    ledger = Ledger(store, tmp_path / "runs")
    (tmp_path / "runs").mkdir()
    (tmp_path / "staging").mkdir()
    _, record = await ledger.create("local", "sw_example", "alice", record_for("local"),
                                    builder(tmp_path / "staging"))
    store.set_run_cr(record.key, OK)  # ended by an older ws, never measured
    again = Ledger(store, tmp_path / "runs")
    await again.load()
    await again.measurer.idle()
    assert store.get_run(record.key).stored_bytes  # type: ignore[union-attr]
    ledger.close()
    again.close()
