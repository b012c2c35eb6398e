"""The multi-node cluster (issue 11): compute nodes in their own namespaces, the
service's state hidden from them, runs spread over them, and a node lost mid-run
ending its runs NOK with Slurm's cause while runs on other nodes go on."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.live import ROOT, WS_USER, LiveService, cluster_run, run, wait_final

pytestmark = pytest.mark.cluster


def compute_nodes() -> list[str]:
    return sorted(run(["sinfo", "-h", "-N", "-o", "%N"]).stdout.split())


def job_of(answer: dict[str, Any], timeout: float = 60) -> int:
    deadline = time.time() + timeout
    while time.time() < deadline:
        job_id = requests.get(answer["url"], timeout=30).json()["info"]["report"][
            "process"]["job_id"]
        if job_id:
            return int(job_id)
        time.sleep(0.2)
    raise AssertionError(f"no job id for {answer['url']}")


def node_of(job_id: int, timeout: float = 60) -> str:
    """The node a job runs on, once it runs."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        node = run(["squeue", "-h", "-j", str(job_id), "-t", "RUNNING", "-o", "%N"]).stdout
        if node.strip():
            return node.strip()
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not start")


def test_three_compute_nodes_and_no_slurmd_on_the_login_node() -> None:
    nodes = compute_nodes()
    assert nodes == ["node1", "node2", "node3"], nodes
    assert socket.gethostname() not in nodes
    addresses = run(["scontrol", "show", "nodes", "-o"]).stdout
    assert all(f"NodeAddr=10.213.0.{10 + i}" in addresses for i in (1, 2, 3)), addresses


def test_a_compute_node_cannot_read_the_service_state(service: LiveService) -> None:
    """Even knowing the path, and outside any container: the state folder is not
    shared with the compute nodes (a real site shares runs and software only)."""
    secret = service.state_dir / "jwt_secret"
    assert secret.is_file()
    out = ROOT / "var" / "tests" / f"probe-{uuid.uuid4().hex[:8]}.out"
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["chown", f"{WS_USER}:", str(out.parent)], check=True)
    for node in compute_nodes():
        job = run(["runuser", "-u", WS_USER, "--", "sbatch", "--parsable", "-w", node,
                   f"--output={out}.{node}", "--chdir=/tmp", "--wrap",
                   f"ls -A {service.state_dir.parent} | sed 's/^/LS /'; cat {secret} && echo READ"])
        assert job.returncode == 0, job.stderr
        deadline = time.time() + 60
        while run(["squeue", "-h", "-j", job.stdout.strip()]).stdout.strip() \
                and time.time() < deadline:
            time.sleep(0.3)
        text = Path(f"{out}.{node}").read_text()
        assert "READ" not in text and "No such file" in text, (node, text)
        assert f"LS {service.state_dir.name}" not in text


def test_a_burst_of_runs_spreads_over_the_nodes(service: LiveService) -> None:
    answers = [cluster_run(service, cmd="sleep 2; python /add.py 4 5") for _ in range(6)]
    for answer in answers:
        assert wait_final(answer["url"])["info"]["report"]["cr"] == "OK"
    jobs = ",".join(str(job_of(a)) for a in answers)
    listed = run(["sacct", "-n", "-X", "-P", "-j", jobs, "-o", "NodeList"]).stdout.split()
    assert len(set(listed)) > 1, listed


@pytest.fixture
def restore_nodes() -> Any:
    yield
    # Bring back whatever node a test took down (cluster-up.sh restarts its slurmd).
    up = run(["bash", str(ROOT / "scripts" / "cluster-up.sh")])
    assert up.returncode == 0, up.stderr[-2000:]


def test_a_lost_node_ends_its_runs_nok_and_spares_the_others(
        service: LiveService, restore_nodes: None) -> None:
    victim = cluster_run(service, cmd="sleep 90; python /add.py 1 1")
    victim_node = node_of(job_of(victim))
    other = cluster_run(service, cmd="sleep 5; python /add.py 4 5")
    other_node = node_of(job_of(other))
    assert other_node != victim_node  # LLN: the least loaded node
    pidfile = Path(f"/run/slurm/slurmd-{victim_node}.pid")
    os.kill(int(pidfile.read_text()), signal.SIGKILL)
    # What Slurm itself does once the node misses SlurmdTimeout's pings, done now by
    # the admin's command: the node DOWN, its jobs NODE_FAIL (restore_nodes brings
    # it back).
    subprocess.run(["scontrol", "update", f"NodeName={victim_node}", "State=DOWN",
                    "Reason=ws test: node lost"], check=True)
    report = wait_final(victim["url"], timeout=120)["info"]["report"]
    assert (report["cr"], report["process"]["latest_state"]) == ("NOK", "NODE_FAIL"), report
    assert "node" in report["process"]["cause"]
    assert wait_final(other["url"])["info"]["report"]["cr"] == "OK"
    assert requests.get(other["urls"]["run"], timeout=30).json()["info"]["stdout"] == "9.0"
