"""The poller on a cluster where things fail (issue 11): a round Slurm could not
answer is no news; a job is lost only on Slurm's word, lost_after_s after it was
last seen; exit records may come late after COMPLETED; one bad run folder
affects that run only."""

from __future__ import annotations

import shutil
from pathlib import Path

from service.cluster import slurm
from service.cluster.backend import StatesAnswer
from service.core import atomic
from service.runs.folder import run_path
from tests.unit.fakes import FakeBackend, FakeClock
from tests.unit.test_poller import leave_records, make_runs, poller_for


class Source(FakeBackend):
    """A cluster that answers what the test says (the poller's logic alone is under
    test here; the real backends are tested on recorded output)."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs: dict[int, str] = {}

    async def states(self, job_ids: set[int]) -> StatesAnswer:
        self.known = {j: slurm.JobInfo(j, s) for j, s in self.jobs.items()}
        return await super().states(job_ids)


def cr(tmp_path: Path, key: str) -> str:
    return str(atomic.read_json(run_path(tmp_path / "runs", key) / "state.json")["cr"])


async def test_a_round_slurm_could_not_answer_is_no_news(tmp_path: Path) -> None:
    source, clock = Source(), FakeClock()
    poller, ledger, _ = poller_for(tmp_path, source, clock, lost_after_s=0.05)
    (key,) = make_runs(tmp_path, poller, 1)
    source.jobs = {100: "RUNNING"}
    await poller.poll_once()
    source.answered, source.jobs = False, {}  # slurmctld down: squeue failed
    for _ in range(3):
        clock.advance(0.06)
        await poller.poll_once()
    assert cr(tmp_path, key) == "WAIT" and ledger.live_state(key) is not None
    source.answered, source.jobs = True, {100: "RUNNING"}  # back, the job still runs
    await poller.poll_once()
    source.jobs = {100: "COMPLETED"}
    leave_records(run_path(tmp_path / "runs", key), 0, 0)
    await poller.poll_once()
    assert cr(tmp_path, key) == "OK"


async def test_lost_only_when_slurm_answered_for_lost_after_s(tmp_path: Path) -> None:
    source, clock = Source(), FakeClock()
    poller, _, _ = poller_for(tmp_path, source, clock, lost_after_s=0.2)
    (key,) = make_runs(tmp_path, poller, 1)
    clock.advance(0.1)
    source.jobs = {100: "RUNNING"}  # seen: the count starts again
    await poller.poll_once()
    source.jobs = {}
    clock.advance(0.15)
    await poller.poll_once()
    assert cr(tmp_path, key) == "WAIT"  # unknown for less than lost_after_s
    clock.advance(0.1)
    await poller.poll_once()
    state = atomic.read_json(run_path(tmp_path / "runs", key) / "state.json")
    assert state["cr"] == "NOK" and state["latest_state"] == "UNKNOWN"


async def test_completed_waits_for_late_exit_records(tmp_path: Path) -> None:
    source, clock = Source(), FakeClock()
    poller, _, _ = poller_for(tmp_path, source, clock, exit_record_grace_s=0.3)
    late, never = make_runs(tmp_path, poller, 2)
    source.jobs = {100: "COMPLETED", 101: "COMPLETED"}
    await poller.poll_once()
    assert (cr(tmp_path, late), cr(tmp_path, never)) == ("WAIT", "WAIT")
    leave_records(run_path(tmp_path / "runs", late), 0, 0)  # the shared file system caught up
    await poller.poll_once()
    assert cr(tmp_path, late) == "OK"
    clock.advance(0.35)
    await poller.poll_once()
    assert cr(tmp_path, never) == "NOK"  # judged on what is there: never OK


async def test_a_failed_job_is_judged_at_once(tmp_path: Path) -> None:
    source, clock = Source(), FakeClock()
    poller, _, _ = poller_for(tmp_path, source, clock, exit_record_grace_s=60)
    (key,) = make_runs(tmp_path, poller, 1)
    source.jobs = {100: "TIMEOUT"}
    await poller.poll_once()
    assert cr(tmp_path, key) == "NOK"


async def test_a_deleted_run_folder_affects_that_run_only(tmp_path: Path) -> None:
    source, clock = Source(), FakeClock()
    poller, ledger, store = poller_for(tmp_path, source, clock, exit_record_grace_s=0)
    gone, fine = make_runs(tmp_path, poller, 2)
    shutil.rmtree(run_path(tmp_path / "runs", gone))
    leave_records(run_path(tmp_path / "runs", fine), 0, 0)
    source.jobs = {100: "COMPLETED", 101: "COMPLETED"}
    for _ in range(2):
        await poller.poll_once()
    assert cr(tmp_path, fine) == "OK"
    assert ledger.live_state(gone) is None
    assert store.get_run(gone).cr == "NOK"  # type: ignore[union-attr]
