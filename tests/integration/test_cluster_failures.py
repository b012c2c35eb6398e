"""A flaky controller (issue 11): while slurmctld cannot be asked, runs stay as
they were; when it is back, they end in their right states. A failed query is
no news, never a verdict, however long the jobs have run."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.live import ROOT, cluster_run, wait_final, wait_running

pytestmark = pytest.mark.cluster


def test_runs_outlive_a_controller_outage_longer_than_lost_after_s(
        service_factory: Any) -> None:
    live = service_factory(cluster={"lost_after_s": 3.0, "poll_min_s": 0.3,
                                    "poll_max_s": 1.0})
    answers = []
    for cmd in ("sleep 15; python /add.py 4 5", "sleep 20; python /add.py 1 2",
                "sleep 15; exit 3"):
        answers.append(cluster_run(live, cmd=cmd))
    for a in answers:
        assert wait_running(a["url"], timeout=90)["info"]["report"]["process"][
            "latest_state"] == "RUNNING"
    pid = int(Path("/run/slurm/slurmctld.pid").read_text())
    subprocess.run(["kill", str(pid)], check=True)
    try:
        # Several rounds, and longer than lost_after_s, without an answer.
        time.sleep(12)
        for a in answers:
            assert requests.get(a["url"], timeout=30).json()["info"]["report"]["cr"] == \
                "WAIT"
    finally:
        subprocess.run(["bash", str(ROOT / "scripts" / "cluster-up.sh")], check=True,
                       capture_output=True)
    reports = [wait_final(a["url"])["info"]["report"] for a in answers]
    assert [r["cr"] for r in reports] == ["OK", "OK", "NOK"], reports
    assert "status 3" in reports[2]["process"]["cause"]
    stdout = [requests.get(a["urls"]["run"], timeout=30).json()["info"]["stdout"]
              for a in answers[:2]]
    assert stdout == ["9.0", "3.0"]
