"""A cluster without accounting (AccountingStorageType=none, no slurmdbd):
runs still end in their right final states, from squeue and the run folders,
and the service says once, not every round, that sacct cannot help.

Runs in scripts/test.sh's second pass, against a second cluster brought up
without accounting (and with MinJobAge=5, so that squeue soon forgets jobs);
skipped on a cluster that keeps accounting."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import pytest
import requests

from tests.live import cluster_run, run, wait_final

NO_ACCOUNTING = "accounting_storage/none" in run(["scontrol", "show", "config"]).stdout
pytestmark = [pytest.mark.cluster,
              pytest.mark.skipif(not NO_ACCOUNTING, reason="needs a cluster without "
                                 "accounting (scripts/test.sh's second pass)")]


def report(answer: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = wait_final(answer["url"])["info"]["report"]
    return body


def test_final_states_without_accounting(service_factory: Any) -> None:
    live = service_factory()
    ok, failing, slow = (cluster_run(live, cmd=cmd) for cmd in
                         ("python /add.py 4 5", "exit 3", "sleep 60"))
    assert report(ok)["cr"] == "OK"
    assert requests.get(ok["urls"]["run"], timeout=30).json()["info"]["stdout"] == "9.0"
    failed = report(failing)
    assert failed["cr"] == "NOK" and "status 3" in failed["process"]["cause"]
    job_id = requests.get(slow["url"], timeout=30).json()["info"]["report"]["process"][
        "job_id"]
    subprocess.run(["scancel", str(job_id)], check=True)
    cancelled = report(slow)
    assert (cancelled["cr"], cancelled["process"]["latest_state"]) == ("NOK", "CANCELLED")
    said = [line for line in live.log().splitlines() if "sacct" in line
            or "accounting" in line]
    assert len(said) <= 1, said


def test_a_job_squeue_forgot_is_judged_by_its_run_folder(service_factory: Any) -> None:
    live = service_factory()
    answer = cluster_run(live, cmd="sleep 3; python /add.py 4 5")
    job_id = requests.get(answer["url"], timeout=30).json()["info"]["report"]["process"][
        "job_id"]
    live.stop(kill=True)
    # The job ends while nobody watches, and squeue forgets it (MinJobAge=5).
    deadline = time.time() + 120
    while run(["squeue", "-h", "-j", str(job_id)]).stdout.strip() and time.time() < deadline:
        time.sleep(1)
    live.start()
    assert report(answer)["cr"] == "OK"
    assert requests.get(answer["urls"]["run"], timeout=30).json()["info"]["stdout"] == "9.0"
