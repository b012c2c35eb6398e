"""What a run gets from the machine, against the live service as its account:
the environment of its Slurm job, the host folders and the network of its
container, the resources of a local run."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.conftest import BOUNDED_USER_LEVEL
from tests.live import WS, WS_USER, LiveService, local_run, run, wait_final

pytestmark = pytest.mark.cluster
MUSE = "/api/software/muse/run/sw_example/"
CANARY = "WS_TEST_CANARY_SECRET"


def job_environment(job_id: int, timeout: float = 120.0) -> dict[str, str]:
    """The environment of the job's batch script, found in /proc by its job id
    (whichever of the cluster's slurmd runs it: they share this /proc)."""
    mark = f"SLURM_JOB_ID={job_id}".encode()
    deadline = time.time() + timeout
    while time.time() < deadline:
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cmdline = (proc / "cmdline").read_bytes()
                raw = (proc / "environ").read_bytes()
            except OSError:
                continue
            items = raw.split(b"\0")
            if mark in items and (b"job.sh" in cmdline or b"slurm_script" in cmdline):
                pairs = (item.partition(b"=") for item in items if item)
                return {k.decode(): v.decode(errors="replace") for k, _, v in pairs}
        time.sleep(0.3)
    raise AssertionError(f"no batch script process found for job {job_id}")


def test_jobs_get_a_clean_environment(service_factory: Callable[..., LiveService],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CANARY, "the-service-environment")
    live = service_factory()
    r = requests.post(f"{live.url}{MUSE}", headers=live.auth(), timeout=60,
                      json={"cmd": "sleep 10; python /add.py 4 5"})
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


def mount_points(stdout: str) -> set[str]:
    return {line.split()[4] for line in stdout.splitlines() if len(line.split()) > 4}


def test_site_bind_paths_do_not_reach_the_container(service: LiveService) -> None:
    # This machine's apptainer.conf has `bind path = /etc/localtime` and `/etc/hosts`
    # (a real site's often /home, /scratch): the container gets none of them.
    conf = Path("/etc/apptainer/apptainer.conf").read_text()
    site = [line.split("=", 1)[1].strip() for line in conf.splitlines()
            if line.strip().startswith("bind path")]
    assert site, "the test needs a bind path entry in apptainer.conf"
    r = local_run(service, cmd="cat /proc/self/mountinfo")
    assert r.status_code == 200, r.text
    mounts = mount_points(r.json()["info"]["stdout"])
    assert not mounts & {p.split(":")[-1] for p in site}, mounts
    assert {"/proc", "/dev", "/tmp"} <= mounts  # what programs need is still there


def test_the_policy_chooses_the_network_per_level(service: LiveService) -> None:
    cmd = "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"
    visitor = local_run(service, user="vic", cmd=cmd)
    assert visitor.status_code == 200, visitor.text
    assert visitor.json()["info"]["stdout"].split() == ["lo"]
    user = local_run(service, user="alice", cmd=cmd)
    assert user.status_code == 200, user.text
    assert len(user.json()["info"]["stdout"].split()) > 1
    # The cluster run of a visitor has no network either (same profile, in the job).
    r = requests.post(f"{service.url}{MUSE}", headers=service.auth("vic"), timeout=60,
                      json={"cmd": cmd})
    assert r.status_code == 200, r.text
    assert wait_final(r.json()["url"])["info"]["report"]["cr"] == "OK"
    results = requests.get(r.json()["url"].replace("/state/", "/run/"), timeout=30).json()
    assert results["info"]["stdout"].split() == ["lo"]


@pytest.mark.parametrize("folder", ["state", "runs", "runs/some-run", ""])
def test_allowed_binds_overlapping_the_service_folders_stop_the_start(
        service: LiveService, folder: str) -> None:
    config = service.home / f"overlap-{folder.replace('/', '-') or 'home'}.toml"
    root = (service.home / folder).as_posix().rstrip("/")
    config.write_text(f'state_dir = "state"\nruns_dir = "runs"\n[server]\nport = 1\n'
                      f'[cluster]\nallowed_binds = ["{root}"]\n')
    result = run(["runuser", "-u", WS_USER, "--", WS, "--config", str(config), "serve"],
                 timeout=60)
    assert result.returncode == 2, result
    assert "cluster.allowed_binds" in result.stderr and "overlaps" in result.stderr


def proc_limits(text: str) -> dict[str, str]:
    """/proc/self/limits: name -> soft limit."""
    found = {}
    for line in text.splitlines()[1:]:
        name, rest = line[:26].strip(), line[26:].split()
        found[name] = rest[0] if rest else ""
    return found


@pytest.mark.parametrize("warm", [True, False])
def test_local_runs_are_bounded_per_level(service_factory: Callable[..., LiveService],
                                          warm: bool, request: pytest.FixtureRequest
                                          ) -> None:
    live: LiveService = (
        service_factory(local={"time_limit_s": 120.0}, **{"policy.user": BOUNDED_USER_LEVEL})
        if warm else request.getfixturevalue("cold_service"))
    r = local_run(live, cmd="cat /proc/self/limits")
    assert r.status_code == 200, r.text
    limits = proc_limits(r.json()["info"]["stdout"])
    assert limits["Max data size"] == str(600 * 1024 * 1024)
    assert limits["Max processes"] == "3000"
    assert limits["Max cpu time"] == "12"
    # An allocation over the bound fails in the command (the service is untouched).
    r = local_run(live, cmd="python -c 'x = bytearray(900 * 1024 * 1024); print(1)'")
    assert r.status_code == 422, r.text
    assert "MemoryError" in r.json()["report"]["stderr"]
    # A CPU burner is stopped at its CPU time, long before the 120 s wall limit.
    start = time.monotonic()
    r = local_run(live, cmd="python -c 'while True: pass'")
    assert r.status_code == 422, r.text
    assert time.monotonic() - start < 60
    # The admin level is unbounded.
    r = local_run(live, user="adam", cmd="cat /proc/self/limits")
    assert proc_limits(r.json()["info"]["stdout"])["Max cpu time"] == "unlimited"
