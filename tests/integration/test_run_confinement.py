"""What a run gets from the machine, against the live service as its account:
the environment of its Slurm job, the host folders and the network of its
container, the resources of a local run."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.live import LiveService, wait_final

pytestmark = pytest.mark.cluster
MUSE = "/api/software/muse/run/sw_example/"
CANARY = "WS_TEST_CANARY_SECRET"


def job_environment(job_id: int, timeout: float = 60.0) -> dict[str, str]:
    """The environment of the job's batch script (job.sh), read from /proc."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        pids = subprocess.run(["scontrol", "listpids", str(job_id)], capture_output=True,
                              text=True, check=False).stdout.split("\n")[1:]
        for line in pids:
            fields = line.split()
            if not fields or not fields[0].isdigit():
                continue
            try:
                cmdline = Path(f"/proc/{fields[0]}/cmdline").read_bytes()
                raw = Path(f"/proc/{fields[0]}/environ").read_bytes()
            except OSError:
                continue
            if b"job.sh" in cmdline or b"slurm_script" in cmdline:
                pairs = (item.partition(b"=") for item in raw.split(b"\0") if item)
                return {k.decode(): v.decode(errors="replace") for k, _, v in pairs}
        time.sleep(0.3)
    raise AssertionError(f"no batch script process found for job {job_id}")


def test_jobs_get_a_clean_environment(service_factory: Callable[..., LiveService],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CANARY, "the-service-environment")
    live = service_factory()
    r = requests.post(f"{live.url}{MUSE}", headers=live.auth(), timeout=60,
                      json={"cmd": "sleep 8; python /add.py 4 5"})
    assert r.status_code == 200, r.text
    job_id = requests.get(r.json()["url"], timeout=30).json()["info"]["report"][
        "process"]["job_id"]
    environment = job_environment(int(job_id))
    assert CANARY not in environment
    assert not any(k.startswith("WS_") for k in environment)
    assert environment["PATH"].startswith("/usr/local/sbin:")
    state = wait_final(r.json()["url"])
    assert state["info"]["report"]["cr"] == "OK", state
    assert requests.get(r.json()["url"].replace("/state/", "/run/"),
                        timeout=30).json()["info"]["stdout"] == "9.0"
