"""Reconciliation (issue 11, item 7): a live run nobody follows is matched back to
its Slurm jobs by job name and run folder, or ended NOK with the reason, and is
never submitted twice. Slurm output here is recorded output (Slurm 22.05)."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import pytest
from ws_slurm import sacct, squeue

from service.cluster import byname, slurm
from service.cluster.poller import Poller
from service.cluster.reconcile import (
    ADOPT,
    ASK,
    CHILD_GRACE_S,
    END,
    FAST_ROUND_S,
    RETRY_S,
    SUBMIT,
    WAIT,
    OrphanFacts,
    Reconciler,
    decide,
    rebuild_jobs_list,
)
from service.cluster.submission_queue import SubmissionQueue
from service.cluster.submit import SUBMISSION_STARTED
from service.core import atomic
from service.core.config import ClusterConfig
from service.core.params import Params
from service.core.store import Store
from service.runs.exits import read_exit_records
from service.runs.folder import RunFolder, run_path
from service.runs.ledger import Ledger
from service.runs.parameters import parse_run_request
from service.runs.record import RunRecord, load_record
from service.runs.state import ENDED_OK, OK, RunState
from tests.unit.fakes import FakeBackend

KEY = "5deeff83-5c95-4d8e-a863-6dc02b8eab28"
OTHER = "14d346a7-b02e-44f4-a4b9-05d9bcf8bc58"
# squeue --me --noheader --states=all --format=%i|%T|%j|%Z --name=...
SQUEUE = f"""\
961|COMPLETED|106-ws-sw_example|/check/work/main/var/tests/8cfb1dc35da6/runs/{OTHER}
962|RUNNING|107-ws-sw_example|/check/work/main/var/tests/8cfb1dc35da6/runs/{KEY}
960|COMPLETED|107-ws-sw_example|/check/work/main/var/tests/870738540088/runs/{OTHER}
"""
# sacct --noheader --parsable2 --allocations --format=JobIDRaw,State,JobName,WorkDir
SACCT = f"""\
968|COMPLETED|adapter-test|/check/work/main/var/tests/adapter-4512376c
970|CANCELLED by 0|107-ws-sw_example|/srv/a|b/runs/{KEY}
971_1|COMPLETED|107-ws-sw_example|/srv/runs/{KEY}
garbage
"""


def test_named_jobs_parse_from_squeue_and_sacct() -> None:
    jobs = byname.parse_named_jobs(SQUEUE + SACCT)
    assert [j.job_id for j in jobs] == [961, 962, 960, 968, 970]
    assert jobs[1] == byname.NamedJob(962, "RUNNING", "107-ws-sw_example",
                                      f"/check/work/main/var/tests/8cfb1dc35da6/runs/{KEY}")
    assert jobs[4].state == "CANCELLED"
    assert jobs[4].workdir == f"/srv/a|b/runs/{KEY}"  # a separator in a path is kept


def test_a_job_is_the_runs_when_name_and_folder_match() -> None:
    jobs = byname.parse_named_jobs(SQUEUE + SACCT)
    # 960 has the run's name but another service's folder: not the run's.
    assert byname.jobs_of_run(jobs, "107-ws-sw_example", KEY) == (962, 970)
    assert byname.jobs_of_run(jobs, "106-ws-sw_example", KEY) == ()
    assert byname.jobs_of_runs(jobs, {KEY: "107-ws-sw_example", OTHER: "106-ws-sw_example"}
                               ) == {KEY: (962, 970), OTHER: (961,)}


def test_by_name_commands_ask_once_for_all_runs() -> None:
    assert squeue.by_name_argv(["2-ws-a", "1-ws-a", "2-ws-a"]) == [
        "squeue", "--me", "--noheader", "--states=all", "--format=%i|%T|%j|%Z",
        "--name=1-ws-a,2-ws-a"]
    argv = sacct.by_name_argv(["1-ws-a"], since=0.0)
    assert argv[:4] == ["sacct", "--noheader", "--parsable2", "--allocations"]
    assert argv[4].startswith("--starttime=19")  # sacct otherwise looks back to midnight
    assert argv[5:] == ["--name=1-ws-a", "--format=JobIDRaw,State,JobName,WorkDir"]


NOW = 10_000.0


def facts(**changes: object) -> OrphanFacts:
    return replace(OrphanFacts(snakemake_exit=None, listed=(), started_at=None), **changes)


@pytest.mark.parametrize("fact, found, complete, action, ids", [
    # Snakemake's child finished submitting: its jobs list is the truth.
    (facts(snakemake_exit=0, listed=(5, 6)), None, False, ADOPT, (5, 6)),
    # The child may still be submitting: wait for it, ask Slurm nothing.
    (facts(started_at=NOW - 1), None, False, WAIT, ()),
    (facts(started_at=NOW - 1, listed=(5,)), None, False, WAIT, ()),
    # Otherwise Slurm is asked, by name.
    (facts(started_at=NOW - CHILD_GRACE_S - 1), None, False, ASK, ()),
    (facts(), None, False, ASK, ()),
    (facts(snakemake_exit=0), None, False, ASK, ()),
    # Found in Slurm (a crash between sbatch and the save): followed, not resubmitted.
    (facts(started_at=0.0), (7,), False, ADOPT, (7,)),
    (facts(), (7,), True, ADOPT, (7,)),
    (facts(started_at=0.0, listed=(5,)), (6,), True, ADOPT, (5, 6)),
    (facts(started_at=0.0, listed=(5,)), (), True, ADOPT, (5,)),  # the poller judges
    # Slurm did not fully answer: no news.
    (facts(), (), False, WAIT, ()),
    (facts(started_at=0.0), (), False, WAIT, ()),
    # Slurm has no job: never begun -> submitted (once); begun -> NOK with the cause.
    (facts(), (), True, SUBMIT, ()),
    (facts(started_at=0.0), (), True, END, ()),
    (facts(started_at=0.0, snakemake_exit=0), (), True, END, ()),
    # Begun, but no child ever ran (the service died before the fork): once its
    # grace is over and Slurm has nothing, it is submitted; its child is awaited first.
    (facts(started_at=0.0, child_began=False), (), True, SUBMIT, ()),
    (facts(started_at=0.0, child_began=False), (), False, WAIT, ()),
    (facts(started_at=NOW - 1, child_began=False), None, False, WAIT, ()),
])
def test_decide(fact: OrphanFacts, found: tuple[int, ...] | None, complete: bool,
                action: str, ids: tuple[int, ...]) -> None:
    decision = decide(fact, NOW, found, complete)
    assert (decision.action, decision.job_ids) == (action, ids)
    if action == END:
        assert "Slurm has no job of the run" in decision.cause


def test_a_failed_submission_ends_with_its_error() -> None:
    decision = decide(facts(snakemake_exit=1, listed=(5,),
                            submission_error="sbatch: error: invalid partition"), NOW)
    assert decision.action == END
    assert decision.cause == "Slurm did not take the job: sbatch: error: invalid partition"


# ---- the reconciler, on a real store and folders, Slurm's answers recorded ----------
class RecordingSubmitter:
    def __init__(self) -> None:
        self.submitted: list[str] = []

    async def submit(self, folder: RunFolder) -> tuple[int, ...]:
        self.submitted.append(load_record(folder).key)
        return (900 + len(self.submitted),)


def make_run(tmp_path: Path, store: Store, n: int, state: RunState | None = None,
             started: bool = True) -> tuple[str, str]:
    key = f"{n:08d}-0000-4000-8000-000000000000"
    number = store.add_run(key, "sw_example", "alice", "cluster")
    request = parse_run_request(Params(values={"cmd": "python /add.py 4 5"}), cluster=True)
    record = RunRecord(key=key, name="sw_example", owner="alice", number=number,
                       kind="cluster", service="ws", request=request, created=time.time())
    folder = run_path(tmp_path / "runs", key)
    (folder / "status").mkdir(parents=True)
    atomic.write_json(folder / "request.json", record.to_dict())
    atomic.write_json(folder / "state.json", (state or RunState()).to_dict())
    if started:  # begun long ago: its child ran (its log is there) and is over
        (folder / "logs").mkdir()
        (folder / "logs" / "snakemake.log").write_text("")
        (folder / "status" / SUBMISSION_STARTED).write_text("0\n")
        old = time.time() - 2 * CHILD_GRACE_S
        os.utime(folder / "status" / SUBMISSION_STARTED, (old, old))
    return key, record.jobname


async def reconciler_for(tmp_path: Path, store: Store) -> tuple[Reconciler, Ledger,
                                                                  RecordingSubmitter]:
    """A reconciler over the store's runs, the ledger having loaded them."""
    ledger = Ledger(store, tmp_path / "runs")
    await ledger.load()
    poller = Poller(ledger, ClusterConfig(), FakeBackend())
    submitter = RecordingSubmitter()
    submissions = SubmissionQueue(submitter, ledger, poller)
    return Reconciler(ledger, submissions, 300.0), ledger, submitter


def record_slurm(monkeypatch: pytest.MonkeyPatch, squeue: str = "", status: int = 0,
                 stderr: str = "") -> list[list[str]]:
    """Slurm's commands answered as given (squeue's output `squeue`, others none);
    the argv of each call asked, in order."""
    calls: list[list[str]] = []

    async def recorded(argv: list[str], timeout: float = 30.0) -> slurm.Completed:
        calls.append(list(argv))
        return slurm.Completed(status, squeue if argv[0] == "squeue" else "", stderr)

    monkeypatch.setattr(slurm, "run", recorded)
    return calls


async def test_a_round_matches_back_submits_or_ends_with_two_queries(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path / "ws.sqlite3")
    found_key, found_name = make_run(tmp_path, store, 1)
    (run_path(tmp_path / "runs", found_key) / "status" / "run_command.0.sh").write_text("")
    lost_key, _ = make_run(tmp_path, store, 2)
    fresh_key, _ = make_run(tmp_path, store, 3, started=False)
    reconciler, ledger, submitter = await reconciler_for(tmp_path, store)
    calls = record_slurm(monkeypatch, squeue=(
        f"44|RUNNING|{found_name}|{run_path(tmp_path / 'runs', found_key)}\n"
        f"45|RUNNING|{found_name}|/elsewhere/runs/{OTHER}\n"))
    assert await reconciler.reconcile_once() == 300.0
    await reconciler.submissions.stop()
    assert [c[0] for c in calls] == ["squeue", "sacct"]  # for the three runs together
    assert [j.slurm_id for j in read_exit_records(
        RunFolder(run_path(tmp_path / "runs", found_key))).jobs] == [44]  # rebuilt from its script
    found = ledger.live_state(found_key)
    assert found == RunState(jobs=(44,), updated=found.updated)  # type: ignore[union-attr]
    lost_folder = run_path(tmp_path / "runs", lost_key)
    lost = RunState.from_dict(atomic.read_json(lost_folder / "state.json"))
    assert lost.cr == "NOK" and "Slurm has no job of the run" in lost.cause
    assert store.get_run(lost_key).cr == "NOK"  # type: ignore[union-attr]
    assert submitter.submitted == [fresh_key]  # never begun: submitted, once
    assert ledger.live_state(fresh_key).jobs == (901,)  # type: ignore[union-attr]
    # Next round: everything is followed; Slurm is not asked by name again.
    calls.clear()
    assert await reconciler.reconcile_once() == 300.0
    assert calls == []


async def test_slurm_not_answering_changes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path / "ws.sqlite3")
    key, _ = make_run(tmp_path, store, 1)
    fresh, _ = make_run(tmp_path, store, 2, started=False)
    reconciler, ledger, submitter = await reconciler_for(tmp_path, store)
    record_slurm(monkeypatch, status=1, stderr="slurm_load_jobs error: Unable to contact "
                 "slurm controller (connect failure)")
    assert await reconciler.reconcile_once() == RETRY_S  # asked again before long
    assert submitter.submitted == []
    assert ledger.live_state(key) == RunState.from_dict(
        atomic.read_json(run_path(tmp_path / "runs", key) / "state.json"))
    assert not ledger.state_of(key).final
    assert not ledger.state_of(fresh).final


async def test_a_child_still_submitting_is_awaited_without_asking_slurm(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path / "ws.sqlite3")
    key, _ = make_run(tmp_path, store, 1, started=False)
    (run_path(tmp_path / "runs", key) / "status" / SUBMISSION_STARTED).write_text("now\n")
    reconciler, _, submitter = await reconciler_for(tmp_path, store)
    calls = record_slurm(monkeypatch)
    assert await reconciler.reconcile_once() == FAST_ROUND_S  # ask again soon
    assert calls == [] and submitter.submitted == []


async def test_the_store_learns_what_the_folders_say(tmp_path: Path) -> None:
    """Stopped between state.json and the index: a final run stays WAIT in the store
    (and counts against its owner's quota) until reconciled."""
    store = Store(tmp_path / "ws.sqlite3")
    ended_key, _ = make_run(tmp_path, store, 1, RunState(cr=OK, latest_cr=ENDED_OK,
                                                         jobs=(5,)))
    lost_key, _ = make_run(tmp_path, store, 2, RunState(jobs=(6,)))
    reconciler, ledger, _ = await reconciler_for(tmp_path, store)
    store.set_run_cr(ended_key, "WAIT")  # stopped between state.json and the index
    ledger._live.pop(lost_key)  # nobody follows it any more
    reconciler._started = time.time() + 10  # both indexed before this process began
    await reconciler.reconcile_once()
    assert store.get_run(ended_key).cr == "OK"  # type: ignore[union-attr]
    assert ledger.live_state(lost_key) == RunState(jobs=(6,))
    assert store.count_live_runs("alice") == 1


def test_the_jobs_list_is_rebuilt_only_when_unambiguous(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.mkdir()
    (status / "run_command.0.sh").write_text("#!/bin/bash\n")
    (status / "run_command.0.exit").write_text("0\n")
    (status / "submission.started").write_text("0\n")
    assert not rebuild_jobs_list(status, (7, 8))  # two jobs, one script: which is which?
    assert rebuild_jobs_list(status, (7,))
    jobs = read_exit_records(RunFolder(tmp_path)).jobs
    assert [(j.rule, j.slurm_id, j.exit) for j in jobs] == [("run_command", 7, 0)]
    assert not rebuild_jobs_list(status, (9,))  # a list is there: never replaced
    (tmp_path / "two" / "status").mkdir(parents=True)
    for n in (0, 1):
        (tmp_path / "two" / "status" / f"r.{n}.sh").write_text("")
    assert not rebuild_jobs_list(tmp_path / "two" / "status", (7,))


def test_a_unix_mode_run_s_rebuilt_jobs_list_is_the_service_s_own(tmp_path: Path) -> None:
    # The run folder is the user's: the service writes the list with its own files.
    user, meta = tmp_path / "wsalice" / "f", tmp_path / "unix-runs" / "f"
    (user / "status").mkdir(parents=True)
    meta.mkdir(parents=True)
    (user / "status" / "run_command.0.sh").write_text("#!/bin/bash\n")
    (user / "status" / "run_command.0.exit").write_text("0\n")
    assert rebuild_jobs_list(user / "status", (7,), into=meta)
    assert not (user / "status" / "jobs.json").exists()
    jobs = read_exit_records(RunFolder(user, meta=meta)).jobs
    assert [(j.rule, j.slurm_id, j.exit) for j in jobs] == [("run_command", 7, 0)]
    assert not rebuild_jobs_list(user / "status", (9,), into=meta)  # never replaced


async def test_many_unfollowed_runs_cost_two_queries_a_round(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path / "ws.sqlite3")
    keys = [make_run(tmp_path, store, n)[0] for n in range(byname.MAX_RUNS_PER_QUERY + 20)]
    reconciler, ledger, _ = await reconciler_for(tmp_path, store)
    calls = record_slurm(monkeypatch)
    assert await reconciler.reconcile_once() == FAST_ROUND_S  # the rest in another round
    assert [c[0] for c in calls] == ["squeue", "sacct"]
    assert len(calls[0][-1].split(",")) == byname.MAX_RUNS_PER_QUERY
    calls.clear()
    assert await reconciler.reconcile_once() == 300.0
    assert [c[0] for c in calls] == ["squeue", "sacct"]
    assert all(ledger.live_state(k) is None for k in keys)  # all ended (NOK): no job
    assert store.count_live_runs("alice") == 0
