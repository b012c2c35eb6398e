"""The run ledger: the one place a run is created, changes state and is forgotten.
A change is in state.json, the index, the view of live runs and the waiters'
event at once; the folders rebuild the index. Its clock is a fake one."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from service.core import atomic
from service.core.errors import TooManyRuns
from service.core.params import Params
from service.core.store import Store
from service.runs import ledger as ledger_module
from service.runs.folder import RunFolder, run_path
from service.runs.ledger import INTERRUPTED, Ledger, load_state
from service.runs.parameters import parse_run_request
from service.runs.record import RunRecord
from service.runs.state import ENDED_NOK, ENDED_OK, NOK, OK, WAIT, Cr, RunState
from tests.unit.fakes import FakeClock
from tests.unit.test_admin_cli import Cli

RECORDED = Path(__file__).parent / "recorded"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(tmp_path, monkeypatch, capsys)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ledger(tmp_path: Path, clock: FakeClock) -> Ledger:
    (tmp_path / "runs").mkdir()
    return Ledger(Store(tmp_path / "ws.sqlite3"), tmp_path / "runs", clock)


def record_for(kind: str = "cluster", owner: str = "alice"
               ) -> Callable[[str, int, float], RunRecord]:
    request = parse_run_request(Params(values={"cmd": "python /add.py 4 5"}),
                                cluster=kind == "cluster")

    def make(key: str, number: int, created: float) -> RunRecord:
        return RunRecord(key=key, name="sw_example", owner=owner, number=number, kind=kind,
                         service="ws", request=request, created=created)
    return make


def builder(staging: Path) -> Callable[[RunRecord], Path]:
    def build(record: RunRecord) -> Path:
        path = staging / record.key
        (path / "status").mkdir(parents=True)
        atomic.write_json(path / "request.json", record.to_dict(), durable=False)
        return path
    return build


async def create(ledger: Ledger, tmp_path: Path, kind: str = "cluster") -> str:
    staging = tmp_path / "staging"
    staging.mkdir(exist_ok=True)
    _, record = await ledger.create(kind, "sw_example", "alice", record_for(kind),
                                         builder(staging))
    return record.key


async def test_a_created_run_is_indexed_published_and_live(
        tmp_path: Path, ledger: Ledger, clock: FakeClock) -> None:
    key = await create(ledger, tmp_path)
    entry = ledger.store.get_run(key)
    assert entry is not None and (entry.cr, entry.kind, entry.created) == (
        "WAIT", "cluster", clock.now)
    # The first state is written once, with the clock's time, and is the live one.
    assert load_state(ledger.folder(key)) == RunState(updated=clock.now)
    assert ledger.live_state(key) == RunState(updated=clock.now)
    assert list(ledger.live("cluster")) == [key] and ledger.live("local") == {}


async def test_concurrent_creations_cannot_pass_the_live_run_cap_together(
        tmp_path: Path, ledger: Ledger) -> None:
    # 15 requests of one owner at once, the cap at 5 (issue 19: they were all let in
    # when the count and the index row had an await between them).
    staging = tmp_path / "staging"
    staging.mkdir()
    build = builder(staging)
    results = await asyncio.gather(
        *(ledger.create("cluster", "sw_example", "alice", record_for("cluster"), build, 5)
          for _ in range(15)), return_exceptions=True)
    refused = [r for r in results if isinstance(r, TooManyRuns)]
    assert len(refused) == 10 and "alice has 5 runs going on already" in refused[0].message
    assert ledger.store.count_live_runs("alice") == 5
    assert len(ledger.live("cluster")) == 5


async def test_a_run_whose_folder_cannot_be_built_leaves_no_trace(
        tmp_path: Path, ledger: Ledger) -> None:
    def fails(record: RunRecord) -> Path:
        raise OSError("disk full")

    with pytest.raises(OSError):
        await ledger.create("local", "sw_example", "alice", record_for("local"), fails)
    assert not ledger.store.has_runs()
    assert list((tmp_path / "runs").iterdir()) == []
    assert ledger.live("local") == {}


async def test_a_discarded_run_leaves_no_trace(tmp_path: Path, ledger: Ledger) -> None:
    key = await create(ledger, tmp_path)
    ledger.discard(key)
    assert ledger.store.get_run(key) is None
    assert not ledger.folder(key).path.exists()
    assert ledger.live_state(key) is None


async def test_a_change_is_written_off_the_loop_shown_indexed_and_wakes_waiters(
        tmp_path: Path, ledger: Ledger, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    key = await create(ledger, tmp_path)
    writers: list[threading.Thread] = []
    write = ledger_module._write_state

    def recorded(folder: RunFolder, state: RunState) -> None:
        writers.append(threading.current_thread())
        write(folder, state)

    monkeypatch.setattr(ledger_module, "_write_state", recorded)
    changed = ledger.changed()
    clock.advance(5)
    running = RunState(jobs=(7, 8)).moved_to(clock.time(), latest_state="RUNNING")
    await ledger.change(key, running)
    assert writers and writers[0] is not threading.main_thread()
    assert changed.is_set() and not ledger.changed().is_set()  # a fresh event
    assert load_state(ledger.folder(key)) == running == ledger.state_of(key)
    assert ledger.store.get_run(key).cr == "WAIT"  # type: ignore[union-attr]
    # Final: the index learns it, the view lets it go, state.json answers.
    ended = running.moved_to(clock.time(), cr=OK, latest_cr=ENDED_OK,
                             latest_state="COMPLETED")
    await ledger.change(key, ended)
    assert ledger.store.get_run(key).cr == "OK"  # type: ignore[union-attr]
    assert ledger.live_state(key) is None
    assert ledger.state_of(key) == ended
    assert ledger.store.count_live_runs("alice") == 0


async def test_changes_of_one_run_land_in_order(tmp_path: Path, ledger: Ledger) -> None:
    key = await create(ledger, tmp_path)
    states = [RunState(jobs=(7,), latest_state=f"S{i}", updated=float(i)) for i in range(20)]
    await asyncio.gather(*(ledger.change(key, s) for s in states))
    assert load_state(ledger.folder(key)) == states[-1] == ledger.state_of(key)


async def test_a_waiting_task_wakes_on_a_change(tmp_path: Path, ledger: Ledger) -> None:
    key = await create(ledger, tmp_path)
    woken = asyncio.ensure_future(ledger.changed().wait())
    await asyncio.sleep(0)
    assert not woken.done()
    await ledger.change(key, RunState(jobs=(7,)))
    await asyncio.wait_for(woken, 5)


def write_run(runs: Path, key: str, number: int, kind: str, state: dict[str, object] | None,
              created: float = 1000.0) -> None:
    """A run folder as ws leaves it (request.json, state.json), no index."""
    folder = run_path(runs, key)
    (folder / "status").mkdir(parents=True)
    record = record_for(kind)(key, number, created)
    atomic.write_json(folder / "request.json", record.to_dict())
    if state is not None:
        atomic.write_json(folder / "state.json", state)


KEYS = [f"{n:08d}-0000-4000-8000-000000000000" for n in range(6)]


def old_runs(runs: Path) -> None:
    write_run(runs, KEYS[0], 3, "cluster", RunState(cr=OK, latest_cr=ENDED_OK,
                                                    jobs=(5,)).to_dict())
    # Written by an older ws: its one job as job_id.
    write_run(runs, KEYS[1], 7, "cluster", atomic.read_json(
        RECORDED / "state-job_id-and-jobs.json"))
    write_run(runs, KEYS[2], 5, "local", RunState().to_dict())  # cut off by a stop
    write_run(runs, KEYS[3], 4, "cluster", None)  # no state.json: nobody can follow it
    (run_path(runs, KEYS[4])).mkdir()  # no request.json: not a run ws can tell anything of
    (runs / ".staging").mkdir()


def test_reindex_rebuilds_the_index_from_the_folders(tmp_path: Path, ledger: Ledger) -> None:
    old_runs(ledger.runs_dir)
    ledger.store.add_run(KEYS[5], "gone", "bob", "local")  # a row without folder
    assert ledger.reindex() == 4
    entries = {k: ledger.store.get_run(k) for k in KEYS}
    assert {k: (e.number, e.kind, e.cr) for k, e in entries.items() if e} == {
        KEYS[0]: (3, "cluster", "OK"), KEYS[1]: (7, "cluster", "WAIT"),
        KEYS[2]: (5, "local", "WAIT"), KEYS[3]: (4, "cluster", "NOK")}
    assert entries[KEYS[0]].created == 1000.0  # type: ignore[union-attr]
    # Numbers go on after the highest one: job names are never given twice.
    assert ledger.store.add_run("new", "sw_example", "alice", "local") == 8


def test_reindex_numbers_a_run_once(tmp_path: Path, ledger: Ledger) -> None:
    write_run(ledger.runs_dir, KEYS[0], 2, "local", RunState().to_dict(), created=1.0)
    write_run(ledger.runs_dir, KEYS[1], 2, "local", RunState().to_dict(), created=2.0)
    assert ledger.reindex() == 2
    assert ledger.store.get_run(KEYS[0]).number == 2  # type: ignore[union-attr]
    assert ledger.store.get_run(KEYS[1]).number == 3  # type: ignore[union-attr]


@pytest.mark.parametrize("lost", ["rows", "database"])
async def test_load_rebuilds_a_lost_index_and_takes_up_the_runs(
        tmp_path: Path, clock: FakeClock, lost: str) -> None:
    runs = tmp_path / "runs"
    old_runs(runs)
    if lost == "rows":
        Store(tmp_path / "ws.sqlite3").db.execute("DELETE FROM runs")
    ledger = Ledger(Store(tmp_path / "ws.sqlite3"), runs, clock)
    await ledger.load()
    # The older state.json's run is followed again, its jobs migrated.
    assert ledger.live("cluster") == {KEYS[1]: ledger.live("cluster")[KEYS[1]]}
    assert ledger.live_state(KEYS[1]).jobs == (962, 963)  # type: ignore[union-attr]
    # The local run the stop cut off is ended, with the clock's time.
    local = load_state(ledger.folder(KEYS[2]))
    assert (local.cr, local.latest_cr, local.cause, local.updated) == (
        NOK, ENDED_NOK, INTERRUPTED, clock.now)
    assert ledger.store.get_run(KEYS[2]).cr == "NOK"  # type: ignore[union-attr]
    assert ledger.store.count_live_runs("alice") == 1


async def test_load_learns_what_the_folders_say(tmp_path: Path, ledger: Ledger) -> None:
    """Stopped between state.json and the index; a folder gone meanwhile."""
    for key, state in ((KEYS[0], RunState(cr=NOK, latest_cr=ENDED_NOK, jobs=(1,))),
                       (KEYS[1], RunState(jobs=(2,))), (KEYS[2], RunState(jobs=(3,)))):
        ledger.store.add_run(key, "sw_example", "alice", "cluster")
        (run_path(ledger.runs_dir, key)).mkdir()
        atomic.write_json(run_path(ledger.runs_dir, key) / "state.json", state.to_dict())
    shutil.rmtree(run_path(ledger.runs_dir, KEYS[2]))
    await ledger.load()
    assert [ledger.store.get_run(k).cr for k in KEYS[:3]] == [  # type: ignore[union-attr]
        Cr.NOK, Cr.WAIT, Cr.NOK]
    assert list(ledger.live("cluster")) == [KEYS[1]]


async def test_an_empty_index_without_run_folders_stays_empty(ledger: Ledger) -> None:
    await ledger.load()
    assert not ledger.store.has_runs()


def test_ws_admin_reindex(cli: Cli) -> None:
    old_runs(cli.config.runs_dir)
    assert cli.ok("reindex") == f"indexed 4 runs from {cli.config.runs_dir}\n"
    store = cli.store()
    assert store.get_run(KEYS[0]).cr == "OK"  # type: ignore[union-attr]
    assert store.get_run(KEYS[1]).cr == WAIT  # type: ignore[union-attr]


async def test_a_locked_index_leaves_the_run_followed(
        tmp_path: Path, ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    key = await create(ledger, tmp_path)
    set_run_cr = ledger.store.set_run_cr

    def locked(key: str, cr: str) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(ledger.store, "set_run_cr", locked)
    ended = RunState(cr=NOK, latest_cr=ENDED_NOK, jobs=(7,), cause="x")
    with pytest.raises(sqlite3.OperationalError):
        await ledger.change(key, ended)
    assert ledger.live_state(key) == RunState(updated=ledger.clock.time())  # followed still
    monkeypatch.setattr(ledger.store, "set_run_cr", set_run_cr)
    await ledger.change(key, ended)  # the next round
    assert ledger.live_state(key) is None
    assert ledger.store.get_run(key).cr == "NOK"  # type: ignore[union-attr]
