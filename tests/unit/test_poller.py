"""The poller: one squeue (and at most one sacct) per round, whatever the number
of live runs; Slurm output here is recorded output, parsed as the real thing."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from ws_slurm import records

from service.cluster import slurm
from service.cluster.backend import ClusterBackend
from service.cluster.cli_backend import CliBackend
from service.cluster.poller import Poller
from service.core import atomic
from service.core.config import ClusterConfig
from service.core.store import Store
from service.runs.folder import run_path
from service.runs.ledger import Ledger
from service.runs.state import RunState
from tests.unit.fakes import FakeClock, NoForker


def leave_records(folder: Path, snakemake: int, command: int) -> None:
    """What job.sh, ws's executor and its job script leave in status/ (for the
    run's one job)."""
    job = atomic.read_json(folder / "state.json")["jobs"][0]
    (folder / "status" / "snakemake.exit").write_text(f"{snakemake}\n")
    records.write_jobs(str(folder / "status"), [records.JobEntry(
        1, "run_command", int(job), "status/run_command.1.exit")])
    (folder / "status" / "run_command.1.exit").write_text(f"{command}\n")


def slurm_commands() -> ClusterBackend:
    """Slurm's commands as the service asks them, through slurm.run (where the tests
    put recorded answers)."""
    return CliBackend(NoForker(), Path("profiles/slurm"), slurm.current_run)


def poller_for(tmp_path: Path, backend: ClusterBackend | None = None,
               clock: FakeClock | None = None, **config: float
               ) -> tuple[Poller, Ledger, Store]:
    store = Store(tmp_path / "ws.sqlite3")
    ledger = Ledger(store, tmp_path / "runs", clock or FakeClock())
    poller = Poller(ledger, ClusterConfig(**config), backend or slurm_commands(), ledger.clock)
    return poller, ledger, store


def make_runs(tmp_path: Path, poller: Poller, n: int) -> list[str]:
    """n live cluster runs, their jobs (100, 101...) in Slurm and followed."""
    keys = []
    for i in range(n):
        key = f"{i:08d}-0000-4000-8000-000000000000"
        poller.ledger.store.add_run(key, "sw_example", "alice", "cluster")
        folder = run_path(tmp_path / "runs", key)
        (folder / "status").mkdir(parents=True)
        (folder / "work").mkdir()
        state = RunState(jobs=(100 + i,))
        atomic.write_json(folder / "state.json", state.to_dict())
        poller.ledger.resume(key, state)
        poller.follow(key)
        keys.append(key)
    return keys


@pytest.mark.parametrize("n", [1, 50])
async def test_one_query_per_round_whatever_the_number_of_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    poller, ledger, store = poller_for(tmp_path)
    keys = make_runs(tmp_path, poller, n)
    calls: list[list[str]] = []

    async def recorded(argv: list[str], timeout: float = 30.0) -> slurm.Completed:
        calls.append(list(argv))
        if argv[0] == "squeue":  # half still running, half finished
            lines = [f"{100 + i}|{'RUNNING' if i % 2 else 'COMPLETED'}" for i in range(n)]
            return slurm.Completed(0, "\n".join(lines) + "\n", "")
        return slurm.Completed(0, "", "")

    monkeypatch.setattr(slurm, "run", recorded)
    for i, key in enumerate(keys):
        if i % 2 == 0:
            leave_records(run_path(tmp_path / "runs", key), 0, 0)
    await poller.poll_once()
    assert [c[0] for c in calls] == ["squeue"]
    finished = [k for i, k in enumerate(keys) if i % 2 == 0]
    # Ended runs leave the view (their state.json answers from then on).
    live = ledger.live("cluster")
    assert not set(finished) & set(live)
    assert all(live[k].state.latest_state == "RUNNING" for k in keys if k not in finished)
    assert all(store.get_run(k).cr == "OK" for k in finished)  # type: ignore[union-attr]
    assert all(atomic.read_json(run_path(tmp_path / "runs", k) / "state.json")["cr"] == "OK"
               for k in finished)


async def test_sacct_then_the_run_folder_when_squeue_forgot(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    poller, ledger, _ = poller_for(tmp_path)
    a, b, c = make_runs(tmp_path, poller, 3)
    calls: list[str] = []

    async def recorded(argv: list[str], timeout: float = 30.0) -> slurm.Completed:
        calls.append(argv[0])
        if argv[0] == "squeue":
            return slurm.Completed(0, "", "")
        # slurmdbd knows job 100 only
        return slurm.Completed(0, "100|TIMEOUT|0:0\n", "")

    monkeypatch.setattr(slurm, "run", recorded)
    leave_records(run_path(tmp_path / "runs", b), 1, 2)
    await poller.poll_once()
    assert calls == ["squeue", "sacct"]
    state_a = atomic.read_json(run_path(tmp_path / "runs", a) / "state.json")
    state_b = atomic.read_json(run_path(tmp_path / "runs", b) / "state.json")
    assert (state_a["cr"], state_a["latest_state"]) == ("NOK", "TIMEOUT")
    assert state_b["cr"] == "NOK" and "status 2" in state_b["cause"]
    assert ledger.state_of(c).cr == "WAIT"  # nobody knows yet: wait, until lost_after_s


async def test_reload_after_restart(tmp_path: Path) -> None:
    poller, _, _ = poller_for(tmp_path)
    keys = make_runs(tmp_path, poller, 2)
    again = Ledger(Store(tmp_path / "ws.sqlite3"), tmp_path / "runs", FakeClock())
    await again.load()
    assert set(again.live("cluster")) == set(keys)
    assert all(r.state.jobs for r in again.live("cluster").values())


@pytest.mark.parametrize("where", ["work/.command_exit", "status/run_command.1.exit",
                                   "status/jobs.json", "status/snakemake.exit"])
@pytest.mark.parametrize("what", ["dev-zero-link", "fifo"])
async def test_a_hostile_record_neither_stalls_nor_decides(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, what: str) -> None:
    """issue 10: a command that leaves .command_exit (or, could it reach status/,
    any record) as a link to /dev/zero or a FIFO once grew the service to 24 GB or
    froze it for good. The poller must end the run, read nothing unbounded, and
    take nothing from work/."""
    # No grace for late records: a damaged record is judged at once (as a missing
    # one is, once exit_record_grace_s is over).
    poller, _, _ = poller_for(tmp_path, exit_record_grace_s=0)
    (key,) = make_runs(tmp_path, poller, 1)
    folder = run_path(tmp_path / "runs", key)
    leave_records(folder, 0, 0)
    (folder / "work" / ".command_exit").write_text("0\n")
    target = folder / where
    target.unlink()
    if what == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/dev/zero")

    async def recorded(argv: list[str], timeout: float = 30.0) -> slurm.Completed:
        return slurm.Completed(0, "100|COMPLETED\n", "")

    monkeypatch.setattr(slurm, "run", recorded)
    await asyncio.wait_for(poller.poll_once(), 5)
    state = atomic.read_json(folder / "state.json")
    # A hostile work/.command_exit changes nothing; a damaged record in status/
    # is no record: never OK on its word. Snakemake's exit does not judge a run
    # whose jobs are known (its job's own record, intact here, does).
    judged_ok = where in ("work/.command_exit", "status/snakemake.exit")
    assert state["cr"] == ("OK" if judged_ok else "NOK"), state


def test_only_a_new_exit_record_is_news(tmp_path: Path) -> None:
    """Between its Slurm rounds the poller's watcher looks at status/ (no Slurm
    query): a job's exit record makes it ask Slurm at once; the jobs list does not."""
    poller, _, _ = poller_for(tmp_path)
    (key,) = make_runs(tmp_path, poller, 1)
    status = run_path(tmp_path / "runs", key) / "status"
    watch, now = poller.watch, 0.0
    assert watch.look(now) == set()  # first look
    records.write_jobs(str(status), [records.JobEntry(0, "r", 7, "status/r.0.exit")])
    (status / "snakemake.exit").write_text("0\n")
    os.utime(status, ns=(1, 1))  # a visible change, whatever the clock's resolution
    now += 1
    assert watch.look(now) == set()
    (status / "r.0.exit").write_text("0\n")
    os.utime(status, ns=(2, 2))
    now += 1
    assert watch.look(now) == {key}
    now += 1
    assert watch.look(now) == set()
