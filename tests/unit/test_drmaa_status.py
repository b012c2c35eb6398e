"""The DRMAA backend's job states (their logic; the library itself is met in
tests/integration): DRMAA's words as Slurm's, no library call on the event loop,
a round that cannot reach Slurm is no news, and `failed` for a job never seen
alive is judged by the job's exit record, as the poller's rules say."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from ws_slurm import records

from service.__main__ import main
from service.cluster import drmaa_backend, slurm
from service.cluster.backend import StatesAnswer, backend_for
from service.cluster.cli_backend import CliBackend
from service.cluster.drmaa_backend import DrmaaBackend
from service.cluster.jobstatus import settle_with_records
from service.cluster.poller import Poller
from service.core import atomic
from service.core.config import ClusterConfig, ConfigError
from service.core.errors import ClusterUnavailable, InvalidParameter
from service.core.store import Store
from service.runs.folder import run_path
from service.runs.ledger import Ledger
from service.runs.state import ExitRecords, JobExit, RunState
from tests.unit.fakes import FakeClock, NoForker

KEY = "00000000-0000-4000-8000-000000000000"


def drmaa() -> DrmaaBackend:
    return DrmaaBackend(NoForker(), Path("profiles/slurm"), "/lib/libdrmaa.so.1")


class Library:
    """What DrmaaJobs.states answers (recorded words), and on which thread."""

    def __init__(self, words: dict[str, str]) -> None:
        self.words = words
        self.threads: set[int] = set()
        self.fail = False

    def terminate(self, job_id: str) -> None:
        self.threads.add(threading.get_ident())
        if self.fail:
            raise RuntimeError("slurm_terminate_job error: Unable to contact slurm controller")
        if self.words.get(job_id) == "COMPLETED":
            raise RuntimeError("slurm_terminate_job error: Job/step already completing or "
                               "completed")
        self.words[job_id] = "FAILED"

    def states(self, ids: list[str]) -> dict[str, str]:
        self.threads.add(threading.get_ident())
        if self.fail:
            raise RuntimeError("slurm_load_jobs error: Unable to contact slurm controller")
        return {i: self.words[i] for i in ids if i in self.words}


@pytest.fixture
def library(monkeypatch: pytest.MonkeyPatch) -> Library:
    lib = Library({})
    monkeypatch.setattr(drmaa_backend, "process_jobs", lambda path: lib)
    return lib


def exits(*jobs: tuple[int, int | None]) -> ExitRecords:
    return ExitRecords(snakemake=None, command=None, modules_failed=False,
                       jobs=tuple(JobExit("run_command", j, e) for j, e in jobs))


def test_an_uncertain_failed_is_judged_by_its_exit_record() -> None:
    infos = {1: slurm.JobInfo(1, "FAILED", uncertain=True),
             2: slurm.JobInfo(2, "FAILED", uncertain=True),
             3: slurm.JobInfo(3, "FAILED", uncertain=True),
             4: slurm.JobInfo(4, "FAILED"), 5: slurm.JobInfo(5, "RUNNING")}
    settled = settle_with_records(infos, exits((1, 0), (2, 3), (3, None), (4, 0)))
    assert settled == {1: slurm.JobInfo(1, "COMPLETED"), 2: slurm.JobInfo(2, "FAILED"),
                       4: slurm.JobInfo(4, "FAILED"), 5: slurm.JobInfo(5, "RUNNING")}
    # A run without a jobs list: its command's record.
    old = ExitRecords(snakemake=0, command=0, modules_failed=False)
    assert settle_with_records({1: infos[1]}, old) == {1: slurm.JobInfo(1, "COMPLETED")}


async def test_words_and_no_call_on_the_event_loop(library: Library) -> None:
    library.words = {"10": "PENDING", "11": "RUNNING", "12": "COMPLETED", "13": "FAILED"}
    source = drmaa()
    answer = await source.states({10, 11, 12, 13, 14})
    known = answer.known
    assert answer.answered and source.queries == 5  # one jobStatus per live job
    assert {j: (i.state, i.uncertain) for j, i in known.items()} == {
        10: ("PENDING", False), 11: ("RUNNING", False), 12: ("COMPLETED", False),
        13: ("FAILED", True)}  # never seen alive: maybe forgotten by Slurm
    assert threading.get_ident() not in library.threads


async def test_failed_after_being_seen_alive_is_a_failure(library: Library) -> None:
    source = drmaa()
    library.words = {"20": "RUNNING"}
    await source.states({20})
    library.words = {"20": "FAILED"}
    assert (await source.states({20})).known[20] == slurm.JobInfo(20, "FAILED")


async def test_a_round_that_cannot_reach_slurm_is_no_news(library: Library) -> None:
    source = drmaa()
    library.fail = True
    assert await source.states({30}) == StatesAnswer({}, answered=False)


def test_the_config_chooses_the_backend(tmp_path: Path) -> None:
    assert isinstance(backend_for(ClusterConfig(), NoForker()), CliBackend)
    with pytest.raises(ConfigError, match="needs libdrmaa"):
        backend_for(ClusterConfig(backend="drmaa", drmaa_library=str(tmp_path / "none.so")),
                    NoForker())
    lib = tmp_path / "libdrmaa.so.1"
    lib.write_bytes(b"")
    assert isinstance(backend_for(ClusterConfig(backend="drmaa", drmaa_library=str(lib)),
                                  NoForker()), DrmaaBackend)


def one_run(tmp_path: Path, exit_status: int | None) -> tuple[Store, Poller]:
    store = Store(tmp_path / "ws.sqlite3")
    clock = FakeClock()
    poller = Poller(Ledger(store, tmp_path / "runs", clock), ClusterConfig(lost_after_s=600),
                    drmaa(), clock)
    store.add_run(KEY, "sw_example", "alice", "cluster")
    folder = run_path(tmp_path / "runs", KEY)
    (folder / "status").mkdir(parents=True)
    (folder / "work").mkdir()
    records.write_jobs(str(folder / "status"), [records.JobEntry(
        1, "run_command", 40, "status/run_command.1.exit")])
    (folder / "status" / "snakemake.exit").write_text("0\n")  # the submitting child's
    if exit_status is not None:
        (folder / "status" / "run_command.1.exit").write_text(f"{exit_status}\n")
    state = RunState(jobs=(40,))
    atomic.write_json(folder / "state.json", state.to_dict())
    poller.ledger.resume(KEY, state)
    poller.follow(KEY)
    return store, poller


@pytest.mark.parametrize("exit_status,cr,says", [
    (0, "OK", ""), (3, "NOK", "the command exited with status 3")])
async def test_a_job_slurm_forgot_ends_as_its_exit_record_says(
        tmp_path: Path, library: Library, exit_status: int, cr: str, says: str) -> None:
    # After a restart, say: DRMAA answers `failed` for a job Slurm no longer knows.
    library.words = {"40": "FAILED"}
    store, poller = one_run(tmp_path, exit_status)
    await poller.poll_once()
    state = atomic.read_json(run_path(tmp_path / "runs", KEY) / "state.json")
    assert (state["cr"], state["cause"].split(" (")[0]) == (cr, says)
    assert store.get_run(KEY).cr == cr  # type: ignore[union-attr]


async def test_forgotten_without_an_exit_record_is_lost_only_after_lost_after_s(
        tmp_path: Path, library: Library) -> None:
    library.words = {"40": "FAILED"}
    _, poller = one_run(tmp_path, None)
    await poller.poll_once()
    assert poller.ledger.live_state(KEY) is not None  # not yet: the lost rule decides
    poller.clock.advance(601)  # type: ignore[attr-defined]
    await poller.poll_once()
    assert poller.ledger.live_state(KEY) is None
    state = atomic.read_json(run_path(tmp_path / "runs", KEY) / "state.json")
    assert (state["cr"], state["latest_state"]) == ("NOK", "UNKNOWN")


async def test_a_job_seen_running_then_failed_ends_nok(tmp_path: Path,
                                                       library: Library) -> None:
    library.words = {"40": "RUNNING"}
    _, poller = one_run(tmp_path, None)
    await poller.poll_once()
    library.words = {"40": "FAILED"}  # e.g. cancelled, or killed at its time limit
    await poller.poll_once()
    state = atomic.read_json(run_path(tmp_path / "runs", KEY) / "state.json")
    assert (state["cr"], state["latest_state"]) == ("NOK", "FAILED")
    assert "failed before its command recorded an exit status" in state["cause"]


async def test_jobs_cancelled_through_drmaa_end_cancelled(library: Library) -> None:
    source = drmaa()
    library.words = {"50": "PENDING", "51": "COMPLETED"}
    await source.cancel({50, 51})  # one already over: no error, as with scancel
    known = (await source.states({50, 51})).known
    assert (known[50].state, known[51].state) == ("CANCELLED", "COMPLETED")
    assert threading.get_ident() not in library.threads
    library.fail = True
    with pytest.raises(ClusterUnavailable):
        await source.cancel({52})


def test_the_service_refuses_to_start_without_libdrmaa(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "ws.toml"
    config.write_text(f'state_dir = "{tmp_path}/state"\nruns_dir = "{tmp_path}/runs"\n'
                      '[cluster]\nbackend = "drmaa"\n')
    assert main(["--config", str(config), "serve"]) == 2
    assert "needs libdrmaa" in capsys.readouterr().err


def test_the_forked_snakemake_is_told_the_backend_and_the_library(tmp_path: Path) -> None:
    cli = CliBackend(NoForker(), Path("profiles/slurm"))
    assert "--ws-backend" not in cli.submitter.args
    lib = str(tmp_path / "libdrmaa.so.1")
    Path(lib).write_bytes(b"")
    backend = backend_for(ClusterConfig(backend="drmaa", drmaa_library=lib), NoForker())
    assert isinstance(backend, DrmaaBackend)
    assert backend.submitter.args[-4:] == ["--ws-backend", "drmaa", "--ws-drmaa-library", lib]


def test_what_drmaa_cannot_pass_is_refused_before_the_run_is_written() -> None:
    backend = drmaa()
    backend.refuse_unsupported((("time", "10"), ("mem", "300M"), ("mail-type", "END")))
    for option in (("mail-user", "a@b.org"), ("mail-type", "BEGIN,END")):
        with pytest.raises(InvalidParameter, match=r"DRMAA|slurm-drmaa"):
            backend.refuse_unsupported((option,))
    CliBackend(NoForker(), Path("profiles/slurm")).refuse_unsupported(
        (("mail-user", "a@b.org"),))
