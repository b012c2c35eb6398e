"""Cluster runs beyond the document's examples: every result type, the failure
causes, results asked too early, restarts, modules, sbatch options, and a
power user's rerun of a generated workflow with the project's Slurm profile."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests

from service.runs.folder import run_path
from tests.live import DRMAA_LIBRARY, ROOT, WS_USER, LiveService, wait_final, wait_running
from tests.live import cluster_run as submit

pytestmark = pytest.mark.cluster
FINAL_JOB_STATES = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY",
                    "NODE_FAIL"}


def run_to_end(service: LiveService, **params: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    answer = submit(service, **params)
    return answer, wait_final(answer["url"])


def key_of(answer: dict[str, Any]) -> str:
    return str(answer["url"].rstrip("/").rsplit("/", 1)[1])


def assert_error(r: requests.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert set(body) >= {"error", "more", "type"} and isinstance(body["more"], list)
    return body


@pytest.mark.parametrize("returned_type,todownload", [
    ("stdout", "no"), ("stdout.txt", "no"), ("stdout.txt", "yes"), ("run.zip", "no"),
    ("run.zip", "yes")])
def test_every_returned_type_and_todownload(service: LiveService, returned_type: str,
                                            todownload: str) -> None:
    answer, state = run_to_end(service, cmd="python /add.py 1 2",
                               returned_type=returned_type, todownload=todownload)
    assert state["info"]["report"]["cr"] == "OK"
    r = requests.get(answer["urls"]["run"], timeout=30)
    assert r.status_code == 200
    if todownload == "yes":
        r = requests.get(r.json()["url"], timeout=30)
        assert r.status_code == 200
    if returned_type == "stdout":
        assert r.json()["info"]["stdout"] == "3.0"
    elif returned_type == "stdout.txt":
        assert r.text == "3.0\n"
        assert r.headers["Content-Type"].startswith("text/plain")
    else:
        z = zipfile.ZipFile(io.BytesIO(r.content))
        assert z.read(f"{key_of(answer)}/work/stdout.txt") == b"3.0\n"


def test_stdout_with_todownload_is_refused(service: LiveService) -> None:
    r = requests.post(f"{service.url}/api/software/muse/run/sw_example/",
                      json={"cmd": "true", "returned_type": "stdout", "todownload": "yes"},
                      headers=service.auth(), timeout=30)
    assert "todownload" in assert_error(r, 400)["error"]


def test_failing_command_ends_nok_with_its_cause(backend_service: LiveService) -> None:
    service = backend_service
    answer, state = run_to_end(service, cmd="python /add.py 4 x")
    report = state["info"]["report"]
    assert (report["cr"], report["process"]["latest_cr"]) == ("NOK", "ENDED_NOK")
    assert report["process"]["latest_state"] == "FAILED"
    assert "status 1" in report["process"]["cause"]
    body = assert_error(requests.get(answer["urls"]["run"], timeout=30), 409)
    assert "without success" in body["error"]
    content = requests.get(answer["urls"]["content"], timeout=30)
    z = zipfile.ZipFile(io.BytesIO(content.content))
    assert b"could not convert" in z.read(f"{key_of(answer)}/work/stderr.txt")


def test_results_before_the_end_then_cancel(service: LiveService) -> None:
    answer = submit(service, cmd="sleep 120; python /add.py 1 1")
    body = assert_error(requests.get(answer["urls"]["run"], timeout=30), 409)
    assert body["type"] == "not_ready" and answer["url"] in " ".join(body["more"])
    state = requests.get(answer["url"], timeout=30).json()
    assert state["info"]["report"]["cr"] == "WAIT"
    assert state["info"]["report"]["process"]["latest_cr"] == "IN_PROGRESS"
    # The content is there at any time.
    content = requests.get(answer["urls"]["content"], timeout=30)
    assert content.status_code == 200
    assert f"{key_of(answer)}/job.sh" in zipfile.ZipFile(io.BytesIO(content.content)).namelist()
    job_id = state["info"]["report"]["process"]["job_id"]
    assert wait_running(answer["url"])["info"]["report"]["process"][
        "latest_state"] == "RUNNING"
    subprocess.run(["scancel", str(job_id)], check=True)
    report = wait_final(answer["url"])["info"]["report"]
    assert (report["cr"], report["process"]["latest_state"]) == ("NOK", "CANCELLED")
    assert "cancelled" in report["process"]["cause"]


def test_time_limit_is_never_ok(service: LiveService) -> None:
    answer = submit(service, cmd="sleep 300; python /add.py 1 1", sbatch_list=["--time=1"])
    running = wait_running(answer["url"])["info"]["report"]["process"]
    assert running["latest_state"] == "RUNNING", running
    # Slurm's least limit is a minute: the running job's limit is taken down to
    # nothing (as root, as an admin would), so that Slurm times it out at its next
    # limit check instead of a minute on.
    subprocess.run(["scontrol", "update", f"JobId={running['job_id']}", "TimeLimit=0"],
                   check=True)
    report = wait_final(answer["url"])["info"]["report"]
    assert (report["cr"], report["process"]["latest_state"]) == ("NOK", "TIMEOUT")
    assert "time limit" in report["process"]["cause"]
    assert requests.get(answer["urls"]["run"], timeout=30).status_code == 409


def test_sbatch_options_reach_the_job(service: LiveService) -> None:
    answer = submit(service, cmd="sleep 30",
                    sbatch_list=["--mail-user=someone@example.org", "--time=2", "--mem=300M"])
    state = requests.get(answer["url"], timeout=30).json()
    job_id = state["info"]["report"]["process"]["job_id"]
    assert state["info"]["report"]["request"]["sbatch_list"] == [
        "--mail-user=someone@example.org", "--time=2", "--mem=300M", "--mail-type=ALL"]
    job = subprocess.run(["scontrol", "show", "job", "--oneliner", str(job_id)],
                         capture_output=True, text=True, check=True).stdout
    assert "MailUser=someone@example.org" in job
    assert re.search(r"MailType=\S*(ALL|BEGIN,END,FAIL)", job), job
    assert "TimeLimit=00:02:00" in job
    assert re.search(r"JobName=\d+-ws-sw_example", job)
    subprocess.run(["scancel", str(job_id)], check=True)


def test_sbatch_options_through_drmaa(drmaa_service: LiveService) -> None:
    # slurm-drmaa's native specification: --time as HH:MM:SS, --mem as bare MB.
    answer = submit(drmaa_service, cmd="sleep 30",
                    sbatch_list=["--time=2", "--mem=300M", "--mail-type=END"])
    state = requests.get(answer["url"], timeout=30).json()
    job_id = state["info"]["report"]["process"]["job_id"]
    job = subprocess.run(["scontrol", "show", "job", "--oneliner", str(job_id)],
                         capture_output=True, text=True, check=True).stdout
    subprocess.run(["scancel", str(job_id)], check=True)
    assert "TimeLimit=00:02:00" in job and "MailType=END" in job
    assert re.search(r"MinMemoryNode=300M", job), job
    # What slurm-drmaa cannot pass is refused by name at POST, never dropped, and
    # nothing of the run is kept.
    before = {p.name for p in drmaa_service.runs_dir.iterdir()}
    for option in ("--mail-user=someone@example.org", "--mail-type=BEGIN,END"):
        r = requests.post(f"{drmaa_service.url}/api/software/muse/run/sw_example/",
                          json={"cmd": "true", "sbatch_list": [option]},
                          headers=drmaa_service.auth(), timeout=30)
        assert r.status_code == 400, r.text
        assert "DRMAA" in r.json()["error"] + " ".join(r.json()["more"])
    assert {p.name for p in drmaa_service.runs_dir.iterdir()} == before


def test_module_list_is_loaded_in_the_job(service: LiveService) -> None:
    modulefile = service.home / "modulefiles" / "hello" / "1.0.lua"
    modulefile.parent.mkdir(parents=True, exist_ok=True)
    # Apptainer passes APPTAINERENV_X into the container as X, even with --containall.
    modulefile.write_text('setenv("APPTAINERENV_HELLO_MOD", "loaded")\n')
    answer, state = run_to_end(service, cmd="echo $HELLO_MOD", module_list=["hello/1.0"])
    assert state["info"]["report"]["cr"] == "OK", state
    assert requests.get(answer["urls"]["run"], timeout=30).json()["info"]["stdout"] == "loaded"


def test_module_list_where_apptainer_itself_is_a_module(service_factory: Any) -> None:
    """issue 14: a site whose Apptainer is a module names it in cluster.job_modules;
    every job loads it first, then the run's module_list, then starts the container
    with the apptainer the module put first on PATH (the real one, linked)."""
    live = service_factory(cluster={"job_modules": ["site-apptainer/1.0"]})
    site_bin = live.home / "site-apptainer" / "bin"
    site_bin.mkdir(parents=True)
    runtime = shutil.which("apptainer")
    assert runtime is not None
    (site_bin / "apptainer").symlink_to(runtime)
    modules = live.home / "modulefiles"
    (modules / "site-apptainer").mkdir()
    (modules / "site-apptainer" / "1.0.lua").write_text(
        f'prepend_path("PATH", "{site_bin}")\n'
        'setenv("APPTAINERENV_SITE_RUNTIME", "module")\n')
    (modules / "hello").mkdir()
    (modules / "hello" / "1.0.lua").write_text('setenv("APPTAINERENV_HELLO_MOD", "loaded")\n')
    answer, state = run_to_end(live, cmd="echo $SITE_RUNTIME $HELLO_MOD",
                               module_list=["hello/1.0"])
    assert state["info"]["report"]["cr"] == "OK", state
    assert requests.get(answer["urls"]["run"], timeout=30).json()["info"]["stdout"] == (
        "module loaded")
    # Without a module_list of its own, a run still loads the site's modules.
    answer, state = run_to_end(live, cmd="echo $SITE_RUNTIME")
    assert state["info"]["report"]["cr"] == "OK", state
    assert requests.get(answer["urls"]["run"], timeout=30).json()["info"]["stdout"] == "module"


@pytest.mark.parametrize("backend", ["cli", "drmaa"])
def test_restart_finds_live_runs(service_factory: Any, backend: str) -> None:
    # With DRMAA, the restarted service has a new session that never saw the job.
    live = service_factory(cluster={"backend": backend,
                                    "drmaa_library": str(DRMAA_LIBRARY)})
    answer = submit(live, cmd="sleep 3; python /add.py 20 22")
    job_id = requests.get(answer["url"], timeout=30).json()["info"]["report"]["process"][
        "job_id"]
    live.stop(kill=True)  # kill -9: no goodbye
    # The job ends while no service follows it.
    assert slurm_wait_ended(job_id) == "COMPLETED"
    live.start()
    state = wait_final(answer["url"])
    assert state["info"]["report"]["cr"] == "OK"
    assert requests.get(answer["urls"]["run"], timeout=30).json()["info"]["stdout"] == "42.0"
    # Keys never reach the log at info level.
    assert key_of(answer) not in live.log()


def slurm_wait_ended(job_id: int, timeout: float = 120.0) -> str:
    """A job's final state, asked of Slurm (squeue keeps ended jobs MinJobAge seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        state = subprocess.run(["squeue", "-h", "-t", "all", "-j", str(job_id), "-o", "%T"],
                               capture_output=True, text=True, check=False).stdout.strip()
        if state in FINAL_JOB_STATES or time.monotonic() > deadline:
            return state
        time.sleep(0.3)


def rerun_with_slurm_profile(folder: Path) -> None:
    (folder / "work" / "stdout.txt").unlink()
    rerun = subprocess.run(
        ["runuser", "-u", WS_USER, "--", str(ROOT / ".venv" / "bin" / "snakemake"),
         "--profile", str(ROOT / "profiles" / "slurm")],
        cwd=folder, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "slurm" in rerun.stderr.lower()
    assert (folder / "work" / "stdout.txt").read_text() == "5.0\n"


def test_power_user_reruns_the_workflow_with_the_slurm_profile(service: LiveService) -> None:
    answer, state = run_to_end(service, cmd="python /add.py 2 3")
    assert state["info"]["report"]["cr"] == "OK"
    folder = run_path(service.runs_dir, key_of(answer))
    rerun_with_slurm_profile(folder)
    # The workflow names no path of its run folder: a copy reruns where it is.
    copy = service.home / "power-user-copy"
    subprocess.run(["runuser", "-u", WS_USER, "--", "cp", "-a", str(folder), str(copy)],
                   check=True)
    (folder / "work" / "stdout.txt").write_text("untouched\n")
    rerun_with_slurm_profile(copy)
    assert (folder / "work" / "stdout.txt").read_text() == "untouched\n"


def test_unknown_run_key_and_name(service: LiveService) -> None:
    answer, _ = run_to_end(service, cmd="true")
    for url in (answer["url"].replace("sw_example", "other"),
                answer["url"].replace(key_of(answer), "0" * 8 + "-0000-4000-8000-" + "0" * 12),
                f"{service.url}/api/software/muse/state/sw_example/..%2F..%2Fetc/",
                answer["url"].replace("/muse/", "/elsewhere/")):
        assert_error(requests.get(url, timeout=30), 404)


def test_docker_type_container_runs_its_sif(service: LiveService) -> None:
    r = requests.post(f"{service.url}/api/software/muse/run/sw_example_docker/",
                      json={"cmd": "python /add.py 4 5"}, headers=service.auth(), timeout=60)
    state = wait_final(r.json()["url"])
    assert state["info"]["report"]["cr"] == "OK"
    run = requests.get(r.json()["urls"]["run"], timeout=30).json()
    assert run["info"]["stdout"] == "9.0"
    detail = requests.get(f"{service.url}/api/software/detail/sw_example_docker/",
                          timeout=30).json()
    assert detail["info"]["cont"]["type"] == "docker"


def test_owner_token_required_when_configured(service_factory: Any) -> None:
    live = service_factory(auth={"require_owner_token": True})
    answer = submit(live, cmd="python /add.py 1 1")
    urls = [answer["urls"]["state"], answer["urls"]["run"], answer["urls"]["content"]]
    for url in urls:
        assert_error(requests.get(url, timeout=30), 401)
        assert_error(requests.get(url, headers=live.auth("sue"), timeout=30), 404)
    state = wait_final(answer["url"], headers=live.auth())
    assert state["info"]["report"]["cr"] == "OK"
    r = requests.get(answer["urls"]["run"], params={"jwt": live.token()}, timeout=30)
    assert r.json()["info"]["stdout"] == "2.0"



def test_state_without_slurmdbd(service: LiveService) -> None:
    """Real clusters lose slurmdbd now and then: the state does not hang on sacct."""
    pid = int(Path("/run/slurm/slurmdbd.pid").read_text())
    subprocess.run(["kill", str(pid)], check=True)
    try:
        deadline = time.time() + 30
        while Path(f"/proc/{pid}").exists() and time.time() < deadline:
            time.sleep(0.2)
        sacct = subprocess.run(["sacct", "-n", "-j", "1"], capture_output=True, check=False,
                               timeout=120)
        assert sacct.returncode != 0  # accounting is gone
        answer, state = run_to_end(service, cmd="python /add.py 30 12")
        assert state["info"]["report"]["cr"] == "OK", state
        assert requests.get(answer["urls"]["run"], timeout=30).json()["info"]["stdout"] == \
            "42.0"
    finally:
        subprocess.run(["bash", str(ROOT / "scripts" / "cluster-up.sh")], check=True,
                       capture_output=True)


def test_cluster_down_is_503_and_leaves_nothing(service_factory: Any) -> None:
    live = service_factory()
    live.token()
    pid = int(Path("/run/slurm/slurmctld.pid").read_text())
    subprocess.run(["kill", str(pid)], check=True)
    try:
        deadline = time.time() + 30
        while Path(f"/proc/{pid}").exists() and time.time() < deadline:
            time.sleep(0.2)
        r = requests.post(f"{live.url}/api/software/muse/run/sw_example/",
                          json={"cmd": "python /add.py 1 1"}, headers=live.auth(), timeout=120)
        body = assert_error(r, 503)
        assert body["type"] == "cluster_unavailable"
        assert [p for p in live.runs_dir.iterdir() if not p.name.startswith(".")] == []
    finally:
        subprocess.run(["bash", str(ROOT / "scripts" / "cluster-up.sh")], check=True,
                       capture_output=True)
    # And once Slurm is back, runs go through again.
    assert wait_final(submit(live, cmd="python /add.py 1 1")["url"])["info"]["report"][
        "cr"] == "OK"
