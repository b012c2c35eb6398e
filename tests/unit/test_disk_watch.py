"""A cluster run whose folder grows past limits.max_run_mb while its job runs is
cancelled, and its final state says why; pending runs are never looked at."""

from __future__ import annotations

from pathlib import Path

from ws_slurm import records

from service.cluster.disk_watch import DiskWatch
from service.core.config import LimitsConfig
from service.core.store import Store
from service.runs.exits import read_exit_records
from service.runs.folder import RunFolder
from service.runs.ledger import Ledger
from service.runs.state import RunState, ended
from tests.unit.fakes import FakeBackend
from tests.unit.test_ledger import builder, record_for

MB = 1024 * 1024


async def test_a_running_run_past_its_bound_is_cancelled_and_says_why(
        tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    (tmp_path / "staging").mkdir()
    ledger = Ledger(Store(tmp_path / "ws.sqlite3"), tmp_path / "runs")
    build = builder(tmp_path / "staging")
    runs = {}
    for name, latest, size in (("big", "RUNNING", 3), ("small", "RUNNING", 0),
                               ("waiting", "PENDING", 3)):
        folder, record = await ledger.create("cluster", "sw_example", "alice",
                                             record_for("cluster"), build)
        (folder.work).mkdir()
        (folder.work / "out").write_bytes(b"x" * size * MB)
        job = 100 + len(runs)
        await ledger.change(record.key, RunState(jobs=(job,), latest_state=latest))
        runs[name] = (folder, job)
    backend = FakeBackend()
    watch = DiskWatch(ledger, backend, LimitsConfig(max_run_mb=1))
    await watch.check_once()
    await watch.check_once()  # cancelled once, however many rounds see it still live
    assert backend.cancelled == [runs["big"][1]]
    found = read_exit_records(runs["big"][0])
    assert found.disk_exceeded == 1
    assert (runs["big"][0].status / records.DISK_EXCEEDED_RECORD).read_text() == "1\n"
    final = ended(RunState(jobs=(runs["big"][1],)), "CANCELLED", found, 1.0)
    assert final.cr == "NOK" and final.cause.startswith("the run's folder grew past 1 MB")
    assert read_exit_records(runs["small"][0]).disk_exceeded is None
    ledger.close()


class RecordingLocalRuns:
    def __init__(self, folders: list[Path]) -> None:
        self.folders = folders
        self.killed: list[Path] = []

    def running(self) -> list[Path]:
        return self.folders

    def kill(self, folder: Path) -> None:
        self.killed.append(folder)


async def test_a_local_run_past_its_bound_is_killed_and_says_why(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    (tmp_path / "staging").mkdir()
    ledger = Ledger(Store(tmp_path / "ws.sqlite3"), tmp_path / "runs")
    build = builder(tmp_path / "staging")
    folders = []
    for size in (3, 0, 3):
        folder, _ = await ledger.create("local", "sw_example", "alice",
                                        record_for("local"), build)
        folder.work.mkdir()
        (folder.work / "out").write_bytes(b"x" * size * MB)
        folders.append(folder)
    big, small, not_running = folders
    local = RecordingLocalRuns([big.path, small.path])
    await DiskWatch(ledger, FakeBackend(), LimitsConfig(max_run_mb=1), local).check_once()
    assert local.killed == [big.path]
    assert big.disk_exceeded.read_text() == "1\n"
    assert not not_running.disk_exceeded.exists()
    ledger.close()


def test_a_unix_mode_run_s_note_is_kept_with_the_service_s_own_files(tmp_path: Path) -> None:
    # The run folder is its user's (the service writes nothing there).
    folder = RunFolder(tmp_path / "wsalice" / "f", meta=tmp_path / "unix-runs" / "f")
    assert folder.disk_exceeded == tmp_path / "unix-runs" / "f" / records.DISK_EXCEEDED_RECORD
    assert RunFolder(tmp_path / "f").disk_exceeded == \
        tmp_path / "f" / "status" / records.DISK_EXCEEDED_RECORD
