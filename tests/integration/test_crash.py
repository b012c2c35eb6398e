"""Crash tests (issue 11, item 9): the service is killed (kill -9) five times while
30 runs (succeeding, failing, slow) are in flight, and restarted right after each
time. Every run ends in its right final state, its results are served, nothing
is lost and nothing is submitted twice (Slurm, asked by the runs' job names,
holds exactly one job per run: ws's workflow has one)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from service.runs.folder import run_path
from tests.live import LiveService, cluster_run, run_key, slurm_jobs_of, wait_final

pytestmark = pytest.mark.cluster

# (command, final cr, stdout served)
KINDS = [("python /add.py 4 5", "OK", "9.0"), ("exit 3", "NOK", None),
         ("sleep 4; python /add.py 1 2", "OK", "3.0")]
ROUNDS, PER_ROUND = 5, 6
# How long after its POSTs each kill comes: before any submission, amid Snakemake
# children submitting (forked, jobs not yet listed), and after some are saved.
# The last rounds wait for the warm Snakemake first (a long-running service has
# it), so that their runs' children are forked at once and cut off mid-way.
KILL_AFTER_S = (0.0, 1.4, 3.0, 0.2, 0.6)
WARM_FIRST = {3, 4}


def wait_warm(live: LiveService, starts: int) -> None:
    deadline = time.time() + 30
    while live.log().count("warm Snakemake ready") < starts and time.time() < deadline:
        time.sleep(0.1)


def kill_9(live: LiveService) -> subprocess.Popen[bytes]:
    """kill -9 of the service's own process (not the runuser above it, which then
    lingers a moment, as after a real crash); its old runuser, to be reaped."""
    assert live.proc is not None
    old, live.proc = live.proc, None
    children = Path(f"/proc/{old.pid}/task/{old.pid}/children").read_text().split()
    assert children, "the service's process is not there"
    for pid in children:
        os.kill(int(pid), signal.SIGKILL)
    return old


def check_ended_right(runs: list[tuple[dict[str, Any], str, str | None]]) -> None:
    """Each run (its POST's answer, its final cr, its stdout or None for `exit 3`)
    ended as it should, its results served."""
    for answer, cr, stdout in runs:
        report = wait_final(answer["url"], timeout=180)["info"]["report"]
        assert report["cr"] == cr, report
        if stdout is not None:
            served = requests.get(answer["urls"]["run"], timeout=30).json()["info"]
            assert served["stdout"] == stdout, served
        else:
            assert "status 3" in report["process"]["cause"], report


def test_kill_9_five_times_with_30_runs_in_flight(service_factory: Any) -> None:
    live = service_factory(cluster={"reconcile_interval_s": 5.0})
    runs: list[tuple[dict[str, Any], str, str | None]] = []
    restarts, dead = [], []
    for round_ in range(ROUNDS):
        if round_ in WARM_FIRST:
            wait_warm(live, live.log().count("======== Running on"))
        for i in range(PER_ROUND):
            cmd, cr, stdout = KINDS[(round_ * PER_ROUND + i) % len(KINDS)]
            runs.append((cluster_run(live, cmd=cmd), cr, stdout))
        time.sleep(KILL_AFTER_S[round_])
        dead.append(kill_9(live))
        began = time.monotonic()
        live.start()  # fails if the dead instance's lock still held it off
        restarts.append(time.monotonic() - began)
    for proc in dead:
        proc.wait(timeout=30)
    # Each restart answered (start() fails on a refusal: the dead one's lock is
    # gone). How fast is printed, not asserted (speed is for bench/): about 1.4 s
    # on an idle machine, up to 4.4 s with the killed runs' children and others'
    # tests on the same 2 cores.
    print(f"restart after kill -9 answered in {max(restarts):.2f} s at most "
          f"({', '.join(f'{r:.2f}' for r in restarts)})")
    assert "already uses" not in live.log()
    check_ended_right(runs)
    twice = {}
    for answer, _, _ in runs:
        folder = run_path(live.runs_dir, run_key(live, answer))
        jobs = slurm_jobs_of(folder)
        if len(jobs) != 1:
            twice[folder.name[:8]] = sorted(jobs)
    assert twice == {}, f"runs not submitted exactly once: {twice}"
