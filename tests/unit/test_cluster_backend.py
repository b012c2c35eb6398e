"""The cluster backends behind one interface: chosen by cluster.backend, submitting
through the warm Snakemake with their executor arguments, asking and cancelling
through Slurm's commands (recorded answers) or DRMAA (a recorded library)."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from pathlib import Path

import pytest
from ws_slurm import records
from ws_slurm.run import Completed

from service.cluster import drmaa_backend
from service.cluster.backend import ClusterBackend, StatesAnswer, backend_for
from service.cluster.cli_backend import CliBackend
from service.cluster.drmaa_backend import DrmaaBackend
from service.cluster.submit import SubmissionFailed
from service.core.config import ClusterConfig, ConfigError
from service.core.errors import ClusterUnavailable
from service.runs.folder import RunFolder
from tests.unit.fakes import Recorded
from tests.unit.test_drmaa_status import Library


class Forker:
    """The warm Snakemake: its child leaves the executor's records, then exits."""

    def __init__(self, slurm_ids: Sequence[int] = (41,), code: int = 0,
                 error: str = "") -> None:
        self.slurm_ids, self.code, self.error = slurm_ids, code, error
        self.args: list[str] = []

    async def fork_workflow(self, folder: Path, args: Sequence[str]
                            ) -> tuple[int, Awaitable[int]]:
        self.args = list(args)
        status = str(folder / "status")
        records.write_jobs(status, [records.JobEntry(i, "run_command", slurm_id,
                                                     f"status/run_command.{i}.exit")
                                    for i, slurm_id in enumerate(self.slurm_ids)])
        if self.error:
            records.write_record(status, records.SUBMISSION_ERROR, self.error)

        async def exited() -> int:
            return self.code
        return 1234, exited()


def run_folder(tmp_path: Path) -> RunFolder:
    folder = RunFolder(tmp_path / ("k" * 32))
    folder.status.mkdir(parents=True)
    return folder


def test_the_backend_follows_the_configuration(tmp_path: Path) -> None:
    forker = Forker()
    assert isinstance(backend_for(ClusterConfig(), forker), CliBackend)
    with pytest.raises(ConfigError, match="needs libdrmaa"):
        backend_for(ClusterConfig(backend="drmaa", drmaa_library=str(tmp_path / "no.so")),
                    forker)
    lib = tmp_path / "libdrmaa.so.1"
    lib.write_bytes(b"")
    backend = backend_for(ClusterConfig(backend="drmaa", drmaa_library=str(lib)), forker)
    assert isinstance(backend, DrmaaBackend)


async def test_each_backend_submits_through_the_warm_snakemake_with_its_executor(
        tmp_path: Path) -> None:
    forker = Forker(slurm_ids=(41, 42))
    cli: ClusterBackend = CliBackend(forker, tmp_path / "profile")
    assert await cli.submit(run_folder(tmp_path)) == (41, 42)
    assert forker.args[:3] == ["--profile", str(tmp_path / "profile"), "--immediate-submit"]
    assert "--ws-backend" not in forker.args
    drmaa: ClusterBackend = DrmaaBackend(forker, tmp_path / "profile", "/lib/libdrmaa.so.1")
    await drmaa.submit(run_folder(tmp_path / "d"))
    assert forker.args[-4:] == ["--ws-backend", "drmaa", "--ws-drmaa-library",
                                "/lib/libdrmaa.so.1"]


@pytest.mark.parametrize("forker,says", [
    (Forker(error="rule run_command: sbatch: error: invalid partition"), "invalid partition"),
    (Forker(code=1), "exited with status 1"),
    (Forker(slurm_ids=()), "exited with status 0")])
async def test_a_submission_not_all_in_slurm_fails_with_the_reason(
        tmp_path: Path, forker: Forker, says: str) -> None:
    with pytest.raises(SubmissionFailed, match=says):
        await CliBackend(forker, tmp_path).submit(run_folder(tmp_path))


async def test_cli_states_are_one_answer(tmp_path: Path) -> None:
    runner = Recorded(squeue=Completed(0, "7|RUNNING\n", ""),
                      sacct=Completed(0, "8|TIMEOUT\n", ""))
    backend = CliBackend(Forker(), tmp_path, runner)
    answer = await backend.states({7, 8, 9})
    assert isinstance(answer, StatesAnswer) and answer.answered
    assert {i: j.state for i, j in answer.known.items()} == {7: "RUNNING", 8: "TIMEOUT"}
    assert backend.queries == 2
    down = CliBackend(Forker(), tmp_path, Recorded(
        squeue=Completed(1, "", "Unable to contact slurm controller"),
        sacct=Completed(1, "", "Connection refused")))
    assert await down.states({7}) == StatesAnswer({}, answered=False)


async def test_cli_cancel(tmp_path: Path) -> None:
    over = Recorded(scancel=Completed(1, "", "scancel: error: Kill job error on job id 7: "
                                      "Job/step already completing or completed\n"))
    await CliBackend(Forker(), tmp_path, over).cancel([8, 7])
    assert over.asked == [["scancel", "7", "8"]]
    refused = Recorded(scancel=Completed(1, "", "Unable to contact slurm controller\n"))
    with pytest.raises(ClusterUnavailable):
        await CliBackend(Forker(), tmp_path, refused).cancel([7])


async def test_drmaa_states_cancel_and_close(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    library = Library({"50": "PENDING", "51": "COMPLETED"})
    closed: list[bool] = []
    library.close = lambda: closed.append(True)  # type: ignore[attr-defined]
    monkeypatch.setattr(drmaa_backend, "process_jobs", lambda path: library)
    backend = DrmaaBackend(Forker(), tmp_path, "/lib/libdrmaa.so.1")
    await backend.cancel([50, 51])
    answer = await backend.states({50, 51})
    assert answer.answered and answer.known[50].state == "CANCELLED"
    library.fail = True
    assert await backend.states({50}) == StatesAnswer({}, answered=False)
    await backend.close()
    assert closed == [True]
