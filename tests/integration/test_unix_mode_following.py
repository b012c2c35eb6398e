"""Identity mode "unix": the service follows its users' runs as in the service
mode, through kill -9 with runs in flight and reconciliation after a restart
(test_crash.py, test_reconcile.py), and stops a run that writes past
limits.max_run_mb (test_request_limits.py), cancelling it as its user. The jobs
are the users', which squeue's and sacct's --me (the service account's) would
not show: the service asks for its runs' users' jobs."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from service.runs.folder import folder_name, run_path
from tests.integration.test_crash import check_ended_right, kill_9
from tests.integration.test_reconcile import forget_job_ids
from tests.live import (
    WS_USER,
    LiveService,
    cluster_run,
    local_run,
    run,
    run_key,
    slurm_jobs_of,
    unix_service,
    wait_final,
    wait_state,
)

pytestmark = pytest.mark.cluster
RUNS = Path("/srv/ws-runs")
ALICE = "wsalice"
KINDS = [("python /add.py 4 5", "OK", "9.0"), ("exit 3", "NOK", None),
         ("sleep 3; python /add.py 1 2", "OK", "3.0")]


@pytest.fixture
def service() -> Iterator[LiveService]:
    with unix_service(cluster={"reconcile_interval_s": 2.0}) as svc:
        yield svc


def meta_of(service: LiveService, answer: dict[str, Any]) -> Path:
    """The service's own files of a unix-mode run (state_dir/unix-runs/<folder>)."""
    return service.state_dir / "unix-runs" / folder_name(run_key(service, answer))


def test_kill_9_with_the_users_runs_in_flight(service: LiveService) -> None:
    runs = []
    for kill_after in (0.0, 1.0):
        for cmd, cr, stdout in KINDS:
            runs.append((cluster_run(service, cmd=cmd), cr, stdout))
        time.sleep(kill_after)  # before any submission, then amid them
        kill_9(service).wait(timeout=30)
        service.start()
    check_ended_right(runs)
    for answer, _, _ in runs:
        folder = run_path(service.runs_dir, run_key(service, answer))
        assert slurm_jobs_of(folder, meta_of(service, answer), ALICE) == {
            wait_final(answer["url"])["info"]["report"]["process"]["job_id"]}


def test_a_run_whose_job_ids_were_lost_is_found_again_by_name(service: LiveService) -> None:
    found = cluster_run(service, cmd="sleep 5; python /add.py 4 5")
    process = wait_state(found["url"], lambda body: bool(
        body["info"]["report"]["process"].get("job_id")), timeout=60, longest=5.0)[
        "info"]["report"]["process"]
    job_id = process["job_id"]
    service.stop(kill=True)
    # What a crash between sbatch and the save leaves: no ids in the service's
    # state, no exit of Snakemake's child nor jobs list in the user's folder.
    meta = meta_of(service, found)
    folder = run_path(service.runs_dir, run_key(service, found))
    forget_job_ids(folder, keep_jobs_list=False, meta=meta)
    service.start()
    report = wait_final(found["url"], timeout=120)["info"]["report"]
    assert report["cr"] == "OK", report
    assert report["process"]["job_id"] == job_id  # found by name, not submitted again
    assert requests.get(found["urls"]["run"], timeout=30).json()["info"]["stdout"] == "9.0"
    assert slurm_jobs_of(folder, meta, ALICE) == {job_id}
    assert "found again" in service.log()


def test_runs_that_write_past_their_bound_are_stopped_as_their_user() -> None:
    with unix_service(limits={"max_run_mb": 1, "disk_check_s": 0.5}) as live:
        answer = cluster_run(live, cmd="head -c 3000000 /dev/zero > big; sleep 120",
                             returned_type="stdout")
        report = wait_final(answer["url"], timeout=90)["info"]["report"]
        assert report["cr"] == "NOK", report
        assert report["process"]["cause"].startswith("the run's folder grew past 1 MB"), \
            report
        assert report["process"]["latest_state"] == "CANCELLED"
        # The note is the service's own; the user's folder got nothing of it.
        assert (meta_of(live, answer) / "disk.exceeded").is_file()
        folder = run_path(live.runs_dir, run_key(live, answer))
        assert not (folder / "status" / "disk.exceeded").exists()
        # A local run of the user's, killed through sudo (its processes are hers).
        r = local_run(live, cmd="head -c 3000000 /dev/zero > big; sleep 60")
        assert r.status_code == 422, r.text
        assert "the run's folder grew past 1 MB" in json.dumps(r.json()["report"]), r.text


def must(argv: list[str]) -> None:
    result = run(argv)
    assert result.returncode == 0, result


@contextlib.contextmanager
def private_jobs() -> Iterator[None]:
    """Slurm's PrivateData=jobs for a while: squeue shows every user only their own
    jobs. Restored, with the service account's admin level, whatever happens
    (scripts/slurm-up.sh would rewrite slurm.conf otherwise)."""
    conf = Path(os.environ.get("SLURM_CONF", "/etc/slurm/slurm.conf"))
    original = conf.read_text()
    try:
        conf.write_text(original + "PrivateData=jobs\n")
        reconfigure()
        yield
    finally:
        run(["sacctmgr", "-i", "modify", "user", WS_USER, "set", "adminlevel=None"])
        conf.write_text(original)
        reconfigure()


def reconfigure() -> None:
    """scontrol reconfigure, then until every node answers again: a job started
    while its node re-reads the config may fail to launch and be requeued."""
    must(["scontrol", "reconfigure"])
    deadline = time.time() + 30
    while time.time() < deadline:
        states = run(["sinfo", "-h", "-N", "-o", "%t"]).stdout.split()
        if states and all(not s.endswith(("*", "~", "#", "!", "%", "$", "@"))
                          for s in states):
            return
        time.sleep(0.2)


def test_with_private_jobs_an_operator_service_still_follows_its_users_jobs(
        service: LiveService) -> None:
    with private_jobs():
        answer = cluster_run(service, cmd="sleep 30")
        job = wait_state(answer["url"], lambda body: bool(
            body["info"]["report"]["process"].get("job_id")), timeout=60, longest=5.0)[
            "info"]["report"]["process"]["job_id"]
        hidden = run(["runuser", "-u", WS_USER, "--", "squeue", "-h", f"--users={ALICE}",
                      "-o", "%i"])
        assert str(job) not in hidden.stdout.split()  # what the service would not see
        must(["scancel", str(job)])
        # As docs/admin.md tells a site with PrivateData=jobs to do.
        must(["sacctmgr", "-i", "modify", "user", WS_USER, "set", "adminlevel=Operator"])
        answer = cluster_run(service, cmd="python /add.py 4 5")
        report = wait_final(answer["url"], timeout=120)["info"]["report"]
        assert report["cr"] == "OK", report
        assert requests.get(answer["urls"]["run"], timeout=30).json()["info"]["stdout"] \
            == "9.0"
