"""Following costs what happens (issue 22): between Slurm rounds the poller's
watcher looks at one folder of end marks for all runs, and at the status/ of
runs whose job runs (often while young, less as they age), never at a PENDING
run's; a run whose mark never comes is ended by Slurm's answer all the same."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import pytest
from ws_slurm import records

from service.cluster import watch as watch_module
from service.cluster.backend import StatesAnswer
from service.cluster.watch import LOOK_S, STATUS_MAX_S, STRAY_MARK_S, Watch, Watcher
from service.core import atomic
from service.core.clock import SYSTEM_CLOCK
from service.runs.folder import folder_name, run_path
from service.runs.state import RunState
from tests.unit.fakes import FakeClock
from tests.unit.test_poller import leave_records, make_runs, poller_for
from tests.unit.test_poller_failures import Source, cr


def stats(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every path the watcher stats, in order."""
    seen: list[str] = []
    real = os.stat

    def spy(path: str | os.PathLike[str], *args: object, **kwargs: object) -> os.stat_result:
        seen.append(str(path))
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(watch_module.os, "stat", spy)
    return seen


def mark(poller_watch: Watch, key: str, job: int = 100) -> Path:
    poller_watch.marks.mkdir(parents=True, exist_ok=True)
    path = poller_watch.marks / f"{folder_name(key)}.{job}"
    path.touch()
    return path


async def test_a_pending_run_is_not_looked_at(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    source, clock = Source(), FakeClock()
    poller, _, _ = poller_for(tmp_path, source, clock)
    pending, running = make_runs(tmp_path, poller, 2)
    poller.watch.marks.mkdir(parents=True)
    source.jobs = {100: "PENDING", 101: "RUNNING"}
    await poller.poll_once()
    seen = stats(monkeypatch)
    for i in range(100):
        poller.watch.look(i * LOOK_S)
    assert not [p for p in seen if folder_name(pending) in p]
    assert [p for p in seen if folder_name(running) in p]
    # One stat of the marks' folder a look, whatever the number of runs.
    assert seen.count(str(poller.watch.marks)) == 100
    source.jobs = {100: "RUNNING", 101: "RUNNING"}  # it started: looked at from now
    await poller.poll_once()
    seen.clear()
    poller.watch.look(200.0)
    assert [p for p in seen if folder_name(pending) in p]


async def test_a_running_job_is_looked_at_less_as_it_ages(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, clock = Source(), FakeClock()
    poller, _, _ = poller_for(tmp_path, source, clock)
    (key,) = make_runs(tmp_path, poller, 1)
    source.jobs = {100: "RUNNING"}
    await poller.poll_once()  # running since the clock's 0
    seen = stats(monkeypatch)

    def looks_at_status(start: float, seconds: float) -> int:
        seen.clear()
        for i in range(int(seconds / LOOK_S)):
            poller.watch.look(start + i * LOOK_S)
        return sum(1 for p in seen if folder_name(key) in p)

    assert looks_at_status(0.0, 1.0) >= 15  # young: about every 50 ms
    assert looks_at_status(3600.0, 60.0) <= 60 / STATUS_MAX_S + 1  # an hour old


async def test_an_end_mark_is_news_once_and_removed(tmp_path: Path) -> None:
    poller, _, _ = poller_for(tmp_path)
    a, b = make_runs(tmp_path, poller, 2)
    watch = poller.watch
    assert watch.look(0.0) == set()
    first = mark(watch, a)
    assert watch.look(1.0) == {a}
    assert not first.exists()
    assert watch.look(2.0) == set()
    mark(watch, b, 101)
    assert watch.look(3.0) == {b}


async def test_marks_of_no_followed_run_neither_decide_nor_stay(tmp_path: Path) -> None:
    poller, _, _ = poller_for(tmp_path)
    (key,) = make_runs(tmp_path, poller, 1)
    watch = poller.watch
    watch.marks.mkdir(parents=True)
    stray = mark(watch, "someone-else")
    junk = watch.marks / "not a mark"
    junk.touch()
    (watch.marks / f"{folder_name(key)}.tmp").touch()  # no job id: not this run's mark
    (watch.marks / f"{folder_name(key)}.7").mkdir()  # a folder is never a mark, nor removed
    assert watch.look(0.0) == set()
    assert stray.exists() and junk.exists()
    assert watch.look(STRAY_MARK_S + 1.5) == set()
    assert not stray.exists() and not junk.exists()
    assert (watch.marks / f"{folder_name(key)}.7").is_dir()


async def test_a_mark_left_before_its_run_was_followed_is_news(tmp_path: Path) -> None:
    """A short job can end before its submission returns: its mark waits for it."""
    poller, _, _ = poller_for(tmp_path)
    make_runs(tmp_path, poller, 1)
    watch = poller.watch
    key = "00000009-0000-4000-8000-000000000000"
    mark(watch, key)
    assert watch.look(0.0) == set()
    poller.ledger.store.add_run(key, "sw_example", "alice", "cluster")
    folder = run_path(tmp_path / "runs", key)
    (folder / "status").mkdir(parents=True)
    atomic.write_json(folder / "state.json", RunState(jobs=(109,)).to_dict())
    poller.ledger.resume(key, RunState(jobs=(109,)))
    poller.follow(key)
    assert watch.look(0.01) == {key}  # at once, though the folder did not change


async def test_a_run_whose_end_mark_never_appears_is_ended_by_slurm(tmp_path: Path) -> None:
    """No mark, and a status/ that is not looked at (PENDING at the last answer):
    Slurm's answer ends the run, as it always did."""
    source, clock = Source(), FakeClock()
    poller, _, _ = poller_for(tmp_path, source, clock, exit_record_grace_s=0.3)
    done, killed = make_runs(tmp_path, poller, 2)
    source.jobs = {100: "PENDING", 101: "PENDING"}
    await poller.poll_once()
    assert poller.watch.look(0.0) == set()
    leave_records(run_path(tmp_path / "runs", done), 0, 0)  # it ran and ended between two rounds
    source.jobs = {100: "COMPLETED", 101: "CANCELLED"}
    await poller.poll_once()
    assert (cr(tmp_path, done), cr(tmp_path, killed)) == ("OK", "NOK")


async def test_the_loop_asks_slurm_at_once_when_a_mark_comes(tmp_path: Path) -> None:
    """Slurm's interval is long here: only the mark can make it ask again."""

    class Counting(Source):
        def __init__(self) -> None:
            super().__init__()
            self.asked = asyncio.Event()
            self.rounds = 0

        async def states(self, job_ids: set[int]) -> StatesAnswer:
            self.rounds += 1
            self.asked.set()
            return await super().states(job_ids)

    source = Counting()
    poller, _, _ = poller_for(tmp_path, source, None, poll_min_s=30, poll_max_s=30)
    poller.clock = SYSTEM_CLOCK  # the loop waits on the wall clock
    (key,) = make_runs(tmp_path, poller, 1)
    source.jobs = {100: "PENDING"}
    task = asyncio.create_task(poller.run())
    try:
        await asyncio.wait_for(source.asked.wait(), 5)
        source.asked.clear()
        rounds = source.rounds
        leave_records(run_path(tmp_path / "runs", key), 0, 0)
        source.jobs = {100: "COMPLETED"}
        mark(poller.watch, key)
        await asyncio.wait_for(source.asked.wait(), 5)
        assert source.rounds == rounds + 1
        for _ in range(100):
            if cr(tmp_path, key) == "OK":
                break
            await asyncio.sleep(0.01)
        assert cr(tmp_path, key) == "OK"
        assert not any(poller.watch.marks.iterdir())  # consumed
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def test_the_watcher_tells_nothing_while_nothing_changes(tmp_path: Path) -> None:
    """No work handed to the event loop while nothing changed."""
    watch = Watch(tmp_path / records.END_MARKS)
    watch.marks.mkdir()
    looked = 0
    told: list[set[str]] = []
    done = threading.Event()
    real_look = watch.look

    def look(now: float) -> set[str]:
        nonlocal looked
        looked += 1
        if looked >= 5:
            done.set()
        return real_look(now)

    watch.look = look  # type: ignore[method-assign]
    watch.plan({"run": "key"}, {})
    watcher = Watcher(watch, told.append, time.monotonic)
    watcher.start()
    try:
        assert done.wait(5)
    finally:
        watcher.stop()
    assert told == []
    (watch.marks / "run.5").touch()
    assert watch.look(10.0) == {"key"}
