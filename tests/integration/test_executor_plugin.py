"""ws's executor plugin against the live cluster, as the service account:
workflows of two and three rules with dependencies, waiting and with
--immediate-submit, a failing middle rule, and no Snakemake inside the jobs."""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from service.runs.folder import run_path
from tests.live import DRMAA_LIBRARY, ROOT, WS_USER, wait_final

pytestmark = pytest.mark.cluster
SNAKEMAKE = str(ROOT / ".venv" / "bin" / "snakemake")
# A Snakemake process (not a path through a .snakemake/ folder).
SNAKEMAKE_PROCESS = re.compile(r"(^|/|\s)snakemake(\s|$)|-m snakemake")

# first -> middle -> last; middle fails when config says so. Each step runs in
# the container and adds its line to what it got.
SNAKEFILE = """
rule all:
    input: "last.txt"
rule first:
    output: "first.txt"
    container: config["image"]
    shell: "python /add.py 1 2 > {output}"
rule middle:
    input: "first.txt"
    output: "middle.txt"
    container: config["image"]
    params: code=config.get("middle_exit", 0)
    shell: "cat {input} > {output}; echo middle >> {output}; exit {params.code}"
rule last:
    input: "middle.txt"
    output: "last.txt"
    container: config["image"]
    shell: "cat {input} > {output}; echo last >> {output}"
"""
TWO_RULES = """
rule all:
    input: "b.txt"
rule a:
    output: "a.txt"
    shell: "echo a > {output}"
rule b:
    input: "a.txt"
    output: "b.txt"
    shell: "cat {input} > {output}; echo b >> {output}"
"""


@pytest.fixture
def workdir(images: dict[str, Path]) -> Path:
    folder = ROOT / "var" / "tests" / f"plugin-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    (folder / "Snakefile").write_text(SNAKEFILE)
    (folder / "config.yaml").write_text(json.dumps({"image": str(images["singularity"])}))
    subprocess.run(["chown", "-R", WS_USER, str(folder)], check=True)
    return folder


# The executor's backends: sbatch/squeue, or libdrmaa (slurm-drmaa).
BACKENDS = {"cli": [],
            "drmaa": ["--ws-backend", "drmaa", "--ws-drmaa-library", str(DRMAA_LIBRARY)]}


def snakemake(folder: Path, *args: str, backend: str = "cli"
              ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", WS_USER, "--", SNAKEMAKE, "--executor", "ws", "--jobs", "5",
         "--sdm", "apptainer", "--apptainer-args", "--containall --home \"$(pwd)\"",
         "--configfile", "config.yaml", *BACKENDS[backend], *args],
        cwd=folder, capture_output=True, text=True, timeout=600)


def jobs_of(folder: Path) -> dict[str, dict[str, str]]:
    jobs: dict[str, dict[str, str]] = json.loads(
        (folder / ".snakemake" / "ws" / "jobs.json").read_text())
    return {j["rule"]: j for j in jobs.values()}


def slurm_state(job_id: str) -> str:
    out = subprocess.run(["sacct", "-n", "-X", "-P", "-j", job_id, "--format=State"],
                         capture_output=True, text=True, check=False).stdout.split()
    if out:
        return out[0]
    out = subprocess.run(["squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T"],
                         capture_output=True, text=True, check=False).stdout.split()
    return out[0] if out else "UNKNOWN"


FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL"}


def wait_jobs(job_ids: list[str], timeout: float = 120) -> dict[str, str]:
    deadline = time.time() + timeout
    while True:
        states = {j: slurm_state(j) for j in job_ids}
        if all(s in FINAL for s in states.values()) or time.time() > deadline:
            return states
        time.sleep(0.5)


@pytest.mark.parametrize("backend", ["cli", "drmaa"])
def test_three_rules_waiting(workdir: Path, backend: str) -> None:
    # Waiting, the executor follows its jobs with squeue/sacct or DRMAA's jobStatus.
    result = snakemake(workdir, backend=backend)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (workdir / "last.txt").read_text() == "3.0\nmiddle\nlast\n"
    jobs = jobs_of(workdir)
    assert set(jobs) == {"first", "middle", "last"}
    assert all(slurm_state(j["slurm_id"]) == "COMPLETED" for j in jobs.values())


@pytest.mark.parametrize("backend", ["cli", "drmaa"])
def test_two_rules_without_container_immediate(workdir: Path, backend: str) -> None:
    (workdir / "Snakefile").write_text(TWO_RULES)
    started = time.monotonic()
    result = snakemake(workdir, "--immediate-submit", "--notemp", "b.txt", backend=backend)
    assert result.returncode == 0, result.stderr[-3000:]
    assert time.monotonic() - started < 30
    jobs = jobs_of(workdir)
    # b waits for a in Slurm, not in Snakemake (which has exited).
    show = subprocess.run(["scontrol", "show", "job", jobs["b"]["slurm_id"]],
                          capture_output=True, text=True, check=False).stdout
    assert f"afterok:{jobs['a']['slurm_id']}" in show or "Dependency=(null)" in show
    states = wait_jobs([j["slurm_id"] for j in jobs.values()])
    assert set(states.values()) == {"COMPLETED"}, states
    assert (workdir / "b.txt").read_text() == "a\nb\n"


def test_failing_middle_rule_waiting(workdir: Path) -> None:
    result = snakemake(workdir, "--config", "middle_exit=3")
    assert result.returncode != 0
    assert "command exit status 3" in result.stderr
    jobs = jobs_of(workdir)
    assert "last" not in jobs  # never submitted
    assert (workdir / ".snakemake" / "ws" / f"middle.{jobs['middle']['exit'].split('.')[-2]}"
            ".exit").read_text() == "3\n"
    assert not (workdir / "last.txt").exists()


def test_failing_middle_rule_immediate(workdir: Path) -> None:
    result = snakemake(workdir, "--config", "middle_exit=3", "--immediate-submit",
                       "--notemp", "last.txt")
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = jobs_of(workdir)
    states = wait_jobs([jobs[r]["slurm_id"] for r in ("first", "middle", "last")])
    assert states[jobs["first"]["slurm_id"]] == "COMPLETED"
    assert states[jobs["middle"]["slurm_id"]] == "FAILED"
    # The dependant never runs: Slurm cancels it (--kill-on-invalid-dep).
    assert states[jobs["last"]["slurm_id"]] == "CANCELLED"
    assert not (workdir / "last.txt").exists()
    assert not (workdir / jobs["last"]["exit"]).exists()


def test_failing_middle_rule_immediate_through_drmaa(workdir: Path) -> None:
    result = snakemake(workdir, "--config", "middle_exit=3", "--immediate-submit",
                       "--notemp", "last.txt", backend="drmaa")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "through DRMAA" in result.stderr
    jobs = jobs_of(workdir)
    ids = {r: jobs[r]["slurm_id"] for r in ("first", "middle", "last")}
    states = wait_jobs([ids["first"], ids["middle"]])
    assert (states[ids["first"]], states[ids["middle"]]) == ("COMPLETED", "FAILED")
    # slurm-drmaa cannot pass --kill-on-invalid-dep: without kill_invalid_depend in
    # slurm.conf the dependant waits for ever (README: limits of the DRMAA backend).
    # It never runs all the same.
    show = ""
    deadline = time.time() + 30
    while not ("DependencyNeverSatisfied" in show or "JobState=CANCELLED" in show) \
            and time.time() < deadline:
        show = subprocess.run(["scontrol", "show", "job", ids["last"]], capture_output=True,
                              text=True, check=False).stdout
        time.sleep(0.5)
    subprocess.run(["scancel", ids["last"]], check=False)  # our own job
    assert "JobState=CANCELLED" in show or (  # where slurm.conf kills them
        "JobState=PENDING" in show and "DependencyNeverSatisfied" in show), show
    assert not (workdir / "last.txt").exists()


def job_processes(job_id: str) -> list[str]:
    """The command lines of every process under the job's slurmstepd."""
    ps = subprocess.run(["ps", "-eo", "pid=,ppid=,args="], capture_output=True, text=True,
                        check=True).stdout.splitlines()
    rows = [(int(p), int(pp), a) for p, pp, a in (line.split(None, 2) for line in ps
                                                   if len(line.split(None, 2)) == 3)]
    roots = {p for p, _, a in rows if f"[{job_id}.batch]" in a}
    found: list[str] = []
    while roots:
        children = {p for p, pp, _ in rows if pp in roots}
        found += [a for p, _, a in rows if p in children]
        roots = children
    return found


def test_no_snakemake_inside_the_job(workdir: Path) -> None:
    (workdir / "Snakefile").write_text(SNAKEFILE.replace(
        'shell: "python /add.py 1 2 > {output}"',
        'shell: "sleep 8; python /add.py 1 2 > {output}"'))
    result = snakemake(workdir, "--immediate-submit", "--notemp", "first.txt")
    assert result.returncode == 0, result.stderr[-3000:]
    job_id = jobs_of(workdir)["first"]["slurm_id"]
    deadline = time.time() + 60
    processes: list[str] = []
    while time.time() < deadline:
        processes = job_processes(job_id)
        if any("sleep 8" in p for p in processes):
            break
        time.sleep(0.3)
    assert any("apptainer" in p.lower() or "starter" in p for p in processes), processes
    assert not [p for p in processes if SNAKEMAKE_PROCESS.search(p)], processes
    assert wait_jobs([job_id])[job_id] == "COMPLETED"


def test_generated_workflow_passes_lint(service: Any) -> None:
    from tests.integration.test_muse_runs import key_of, run_to_end

    answer, state = run_to_end(service, cmd="python /add.py 1 2",
                               sbatch_list=["--mail-user=someone@example.org"],
                               cmd_option="--env X=$HOME")
    assert state["info"]["report"]["cr"] == "OK"
    lint = subprocess.run(["runuser", "-u", WS_USER, "--", SNAKEMAKE, "--lint"],
                          cwd=run_path(service.runs_dir, key_of(answer)), capture_output=True,
                          text=True, timeout=300)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "good condition" in lint.stdout + lint.stderr


def test_no_snakemake_inside_a_service_runs_job(service: Any) -> None:
    from tests.integration.test_muse_runs import submit

    answer = submit(service, cmd="sleep 8; python /add.py 1 2")
    job_id = str(requests.get(answer["url"], timeout=30).json()["info"]["report"][
        "process"]["job_id"])
    deadline = time.time() + 60
    processes: list[str] = []
    while time.time() < deadline:
        processes = job_processes(job_id)
        if any("sleep 8" in p for p in processes):
            break
        time.sleep(0.3)
    assert any("sleep 8" in p for p in processes), processes
    assert not [p for p in processes if SNAKEMAKE_PROCESS.search(p)], processes
    assert wait_final(answer["url"])["info"]["report"]["cr"] == "OK"


def test_cluster_run_without_the_warm_snakemake(cold_service: Any) -> None:
    """Before the warm Snakemake is ready (or without it), a cluster run's
    workflow is submitted by a Snakemake started cold."""
    from tests.integration.test_muse_runs import run_to_end

    answer, state = run_to_end(cold_service, cmd="python /add.py 2 2")
    assert state["info"]["report"]["cr"] == "OK", state
    assert requests.get(answer["urls"]["run"], timeout=30).json()["info"]["stdout"] == "4.0"
