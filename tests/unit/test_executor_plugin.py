"""ws's executor plugin, its pure parts: job scripts, sbatch argv, dependencies,
Slurm's answers, and reading exit records without trusting them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from snakemake_executor_plugin_ws import jobscript, records, slurm

NASTY = "/runs/k k/$(id)`id`'q'"


def script(**changes: object) -> jobscript.JobScript:
    values: dict[str, object] = dict(rule="run_command", jobid=1, workdir=NASTY,
                                     command="echo hi", exit_record="status/run_command.1.exit")
    values.update(changes)
    return jobscript.JobScript(**values)  # type: ignore[arg-type]


def test_job_script_quotes_what_it_renders() -> None:
    text = jobscript.render(script(inputs=("work/a b", "$(x)"), latency_wait_s=2,
                                   prologue="pro logue.sh"))
    assert "cd '/runs/k k/$(id)`id`'\"'\"'q'\"'\"'' || exit 90" in text
    assert "for f in 'work/a b' '$(x)'; do" in text
    assert "if ! source 'pro logue.sh'; then record 92; exit 92; fi" in text
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


def test_sbatch_argv() -> None:
    sub = slurm.Submission(script="/r/s.sh", job_name="7-ws-x", chdir="/r", output="/r/o",
                           cpus=2, runtime_min=10, mem_mb=1000, partition="p",
                           dependencies=("9", "10"), extra=("--mail-user=a@b.org",))
    assert slurm.sbatch_argv(sub) == [
        "sbatch", "--parsable", "--job-name=7-ws-x", "--chdir=/r", "--output=/r/o",
        "--cpus-per-task=2", "--kill-on-invalid-dep=yes", "--time=10", "--mem=1000M",
        "--partition=p", "--dependency=afterok:9:10", "--mail-user=a@b.org", "/r/s.sh"]
    bare = slurm.Submission(script="s", job_name="j", chdir="/", output="o", cpus=1)
    assert not [a for a in slurm.sbatch_argv(bare) if a.startswith(("--time", "--dep"))]


def test_upstream_jobs_are_the_producers_of_the_inputs() -> None:
    producer = {"a.txt": "10", "b.txt": "9", "c.txt": "10"}
    assert slurm.upstream(["a.txt", "b.txt", "c.txt", "raw.txt"], producer) == ("9", "10")
    assert slurm.upstream(["raw.txt"], producer) == ()


def test_parse_sbatch_and_states() -> None:
    assert slurm.parse_sbatch("123\n") == "123"
    assert slurm.parse_sbatch("123;cluster\n") == "123"
    with pytest.raises(ValueError):
        slurm.parse_sbatch("sbatch: error\n")
    recorded = "12|COMPLETED\n13|CANCELLED by 0\n14.batch|COMPLETED\n\nxx|RUNNING\n"
    assert slurm.parse_states(recorded) == {"12": "COMPLETED", "13": "CANCELLED"}


@pytest.mark.parametrize("state,rc,verdict", [
    ("PENDING", None, slurm.RUNNING), ("RUNNING", None, slurm.RUNNING),
    ("RUNNING", 0, slurm.SUCCESS), ("COMPLETING", 0, slurm.SUCCESS),
    ("COMPLETED", 0, slurm.SUCCESS), ("COMPLETED", 2, slurm.FAILURE),
    ("FAILED", 0, slurm.FAILURE), ("TIMEOUT", None, slurm.FAILURE),
    ("CANCELLED", None, slurm.FAILURE), ("COMPLETED", None, slurm.FAILURE),
    (None, None, slurm.FAILURE),
])
def test_outcome(state: str | None, rc: int | None, verdict: str) -> None:
    assert slurm.outcome(state, rc)[0] == verdict


def test_exit_records_are_read_bounded_and_never_through_links(tmp_path: Path) -> None:
    ok = tmp_path / "ok.exit"
    ok.write_text("0\n")
    assert records.read_exit(str(ok)) == 0
    (tmp_path / "zero.exit").symlink_to("/dev/zero")
    (tmp_path / "link.exit").symlink_to(ok)
    os.mkfifo(tmp_path / "fifo.exit")
    (tmp_path / "big.exit").write_text("0" * 10_000)
    (tmp_path / "junk.exit").write_text("zero")
    (tmp_path / "dir.exit").mkdir()
    for name in ("zero", "link", "fifo", "big", "junk", "dir", "missing"):
        assert records.read_exit(str(tmp_path / f"{name}.exit")) is None, name


def test_jobs_list_round_trip(tmp_path: Path) -> None:
    jobs = {"1": {"rule": "a", "slurm_id": "5", "exit": "status/a.1.exit"}}
    records.write_jobs(str(tmp_path), jobs)
    assert records.read_jobs(str(tmp_path)) == jobs
    (tmp_path / "jobs.json").unlink()
    (tmp_path / "jobs.json").symlink_to("/dev/zero")
    assert records.read_jobs(str(tmp_path)) == {}


def test_sbatch_export_names_the_whole_environment() -> None:
    sub = slurm.Submission(script="s", job_name="j", chdir="/", output="o", cpus=1,
                           export="PATH=/usr/bin:/bin,LANG=C.UTF-8")
    assert "--export=PATH=/usr/bin:/bin,LANG=C.UTF-8" in slurm.sbatch_argv(sub)
    bare = slurm.Submission(script="s", job_name="j", chdir="/", output="o", cpus=1)
    assert not [a for a in slurm.sbatch_argv(bare) if a.startswith("--export")]
