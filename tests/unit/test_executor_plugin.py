"""ws's executor plugin, its own parts: job scripts, a job's outcome, its modes
and backends."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
from snakemake_executor_plugin_ws import backends, jobscript, modes, outcomes
from snakemake_interface_common.exceptions import WorkflowError
from ws_slurm.run import Completed
from ws_slurm.sbatch import Submission

NASTY = "/runs/k k/$(id)`id`'q'"


def script(**changes: object) -> jobscript.JobScript:
    values: dict[str, object] = dict(rule="run_command", jobid=1, workdir=NASTY,
                                     command="echo hi", status_dir="status")
    values.update(changes)
    return jobscript.JobScript(**values)  # type: ignore[arg-type]


def test_job_script_quotes_what_it_renders() -> None:
    text = jobscript.render(script(inputs=("work/a b", "$(x)"), latency_wait_s=2,
                                   prologue="pro logue.sh"))
    assert "cd '/runs/k k/$(id)`id`'\"'\"'q'\"'\"'' || exit 90" in text
    assert "for f in 'work/a b' '$(x)'; do" in text
    assert "if ! source 'pro logue.sh'; then record run_command.1.exit 92; exit 92; fi" in text
    subprocess.run(["bash", "-n"], input=text, text=True, check=True)


def run_script(tmp_path: Path, command: str, **changes: object) -> tuple[int, str | None]:
    (tmp_path / "status").mkdir(exist_ok=True)
    path = tmp_path / "job.sh"
    path.write_text(jobscript.render(script(workdir=str(tmp_path), command=command,
                                            **changes)))
    rc = subprocess.run(["bash", str(path)], capture_output=True, check=False).returncode
    record = tmp_path / "status" / "run_command.1.exit"
    return rc, record.read_text() if record.exists() else None


@pytest.mark.parametrize("command,rc", [("true", 0), ("exit 3", 3), ("bash -c 'kill -9 $$'", 137)])
def test_job_script_records_the_exit_status(tmp_path: Path, command: str, rc: int) -> None:
    assert run_script(tmp_path, command) == (rc, f"{rc}\n")


def test_job_script_runs_the_prologue_first(tmp_path: Path) -> None:
    (tmp_path / "pro.sh").write_text("export FROM_PROLOGUE=yes\n")
    assert run_script(tmp_path, 'test "$FROM_PROLOGUE" = yes', prologue="pro.sh")[0] == 0
    (tmp_path / "pro.sh").write_text("return 1\n")
    assert run_script(tmp_path, "true", prologue="pro.sh") == (92, "92\n")


def test_job_script_refuses_a_requeued_attempt(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # The first attempt's command may have left links in work/: a second attempt
    # (Slurm's SLURM_RESTART_COUNT > 0) runs nothing and says why in status/.
    monkeypatch.setenv("SLURM_RESTART_COUNT", "1")
    (tmp_path / "ran").unlink(missing_ok=True)
    assert run_script(tmp_path, "touch ran") == (93, "93\n")
    assert not (tmp_path / "ran").exists()
    assert (tmp_path / "status" / "requeued.exit").read_text() == "1\n"
    monkeypatch.setenv("SLURM_RESTART_COUNT", "0")
    assert run_script(tmp_path, "touch ran") == (0, "0\n")


@pytest.mark.parametrize("command,prologue", [("true", None), ("exit 3", None),
                                              ("true", "return 1")])
def test_job_script_makes_its_end_mark_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            command: str, prologue: str | None) -> None:
    """One empty file in the folder shared by all runs, named by the run folder and
    the job id, once the exit record is there (issue 22), whichever way it ends."""
    marks = tmp_path / "marks d"
    marks.mkdir()
    run = tmp_path / "run 'x'"
    run.mkdir()
    if prologue:
        (run / "pro.sh").write_text(prologue + "\n")
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    check = f"[ ! -e {str(marks)!r}/* ] || exit 99; {command}"  # no mark before the end
    rc, record = run_script(run, check, end_marks=str(marks),
                            prologue="pro.sh" if prologue else None)
    assert record is not None and rc == int(record)
    assert [p.name for p in marks.iterdir()] == ["run 'x'.4242"]
    assert (marks / "run 'x'.4242").stat().st_size == 0


def test_job_script_without_a_mark_folder_makes_none(tmp_path: Path) -> None:
    text = jobscript.render(script())
    assert "trap" not in text
    gone = tmp_path / "gone"  # a mark that cannot be made changes nothing
    assert run_script(tmp_path, "exit 4", end_marks=str(gone)) == (4, "4\n")


@pytest.mark.parametrize("link_to,refused", [
    (None, False),          # a plain folder of work/: as accepted
    ("d", False),           # a link that stays inside work/
    ("../..", True),        # a link to the runs folder, put there after the POST
    ("/etc", True),         # a link out of the run folder altogether
])
def test_job_script_refuses_a_bind_that_now_leads_elsewhere(
        tmp_path: Path, link_to: str | None, refused: bool) -> None:
    (tmp_path / "work" / "d").mkdir(parents=True)
    if link_to is None:
        (tmp_path / "work" / "x").mkdir()
    else:
        (tmp_path / "work" / "x").symlink_to(link_to)
    (tmp_path / "ran").unlink(missing_ok=True)
    checks = jobscript.parse_bind_checks("work/x:work")
    rc, record = run_script(tmp_path, "touch ran", bind_checks=checks)
    assert (rc, record) == ((94, "94\n") if refused else (0, "0\n"))
    assert (tmp_path / "ran").exists() is not refused
    assert (tmp_path / "status" / "bind.refused").exists() is refused


def test_bind_checks_are_read_as_written_and_nothing_else() -> None:
    assert jobscript.parse_bind_checks(None) == ()
    assert jobscript.parse_bind_checks("work/a:work,/data/r/x:/data/r") == (
        ("work/a", "work"), ("/data/r/x", "/data/r"))
    for bad in ("work/a", ":work", "work/a:"):
        with pytest.raises(ValueError):
            jobscript.parse_bind_checks(bad)


def test_the_exit_record_is_in_the_status_folder() -> None:
    assert jobscript.exit_record(script()) == "status/run_command.1.exit"


def test_only_immediate_submission_chains_jobs() -> None:
    producer = {"a.txt": "10", "b.txt": "9"}
    assert modes.Immediate().dependencies(["a.txt", "b.txt", "raw"], producer) == ("9", "10")
    assert not modes.Immediate().follows
    assert modes.Waiting().dependencies(["a.txt"], producer) == ()
    assert modes.Waiting().follows


@pytest.mark.parametrize("state,rc,verdict", [
    ("PENDING", None, outcomes.RUNNING), ("RUNNING", None, outcomes.RUNNING),
    ("RUNNING", 0, outcomes.SUCCESS), ("COMPLETING", 0, outcomes.SUCCESS),
    ("COMPLETED", 0, outcomes.SUCCESS), ("COMPLETED", 2, outcomes.FAILURE),
    ("FAILED", 0, outcomes.FAILURE), ("TIMEOUT", None, outcomes.FAILURE),
    ("CANCELLED", None, outcomes.FAILURE), ("COMPLETED", None, outcomes.FAILURE),
    (None, None, outcomes.FAILURE),
])
def test_outcome(state: str | None, rc: int | None, verdict: str) -> None:
    assert outcomes.outcome(state, rc)[0] == verdict


async def test_sbatch_jobs_are_followed_by_id_with_sacct_for_the_rest() -> None:
    asked: list[list[str]] = []

    async def recorded(argv: Sequence[str], timeout: float = 30.0) -> Completed:
        asked.append(list(argv))
        if argv[0] == "squeue":  # it no longer knows 12: it fails as a whole
            return Completed(1, "", "slurm_load_jobs error: Invalid job id specified\n")
        return Completed(0, "11|COMPLETED\n12|CANCELLED by 0\n", "")

    states = await backends.SbatchJobs(recorded).states(["11", "12"])
    assert states == {"11": "COMPLETED", "12": "CANCELLED"}
    assert asked[0][-1] == "--jobs=11,12" and "--me" not in asked[0]


async def test_local_jobs_run_the_job_script_here(tmp_path: Path) -> None:
    (tmp_path / "job.sh").write_text("echo ran\n")
    jobs = backends.LocalJobs()
    job_id = jobs.submit(Submission(script=str(tmp_path / "job.sh"), job_name="j",
                                    chdir=str(tmp_path), output=str(tmp_path / "out"),
                                    cpus=1))
    jobs.children[job_id].wait()
    assert await jobs.states([job_id]) == {job_id: "COMPLETED"}
    assert (tmp_path / "out").read_text() == "ran\n"


def test_the_backend_follows_the_settings() -> None:
    log = logging.getLogger("test")
    assert isinstance(backends.backend_for("cli", False, None, log), backends.SbatchJobs)
    assert isinstance(backends.backend_for("drmaa", False, None, log), backends.DrmaaJobs)
    assert isinstance(backends.backend_for("drmaa", True, None, log), backends.LocalJobs)
    with pytest.raises(WorkflowError, match="cli or drmaa"):
        backends.backend_for("slurmrestd", False, None, log)
