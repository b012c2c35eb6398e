"""Reconciliation (issue 11, item 7) against the live cluster: a live run whose job
ids were never saved (the service stopped between sbatch and the save) is matched
back to its Slurm job by name and ends right, never submitted twice; a live run
Slurm has no job of ends NOK with the reason."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from service.runs.folder import run_path
from tests.live import cluster_run, run_key, slurm_jobs_of, wait_final, wait_state

pytestmark = pytest.mark.cluster


def job_ids(answer: dict[str, Any]) -> list[int]:
    process = wait_state(answer["url"], lambda body: bool(
        body["info"]["report"]["process"].get("job_id")), timeout=60, longest=5.0)[
        "info"]["report"]["process"]
    assert process.get("job_id"), f"the run got no job id: {process}"
    return [int(process["job_id"])]


def forget_job_ids(folder: Path, keep_jobs_list: bool = True, meta: Path | None = None
                   ) -> None:
    """What a crash between sbatch and the save leaves: no ids in state.json (in
    `meta`, the service's own folder of a unix-mode run), no exit of Snakemake's
    child, a submission begun a while ago."""
    state_file = (meta or folder) / "state.json"
    stat = state_file.stat()
    state = json.loads(state_file.read_text())
    state.update(job_id=None, jobs=[])
    state_file.write_text(json.dumps(state))
    os.chown(state_file, stat.st_uid, stat.st_gid)
    gone = ["snakemake.exit"] + ([] if keep_jobs_list else ["jobs.json"])
    for name in gone:
        (folder / "status" / name).unlink(missing_ok=True)
    old = time.time() - 120
    os.utime(folder / "status" / "submission.started", (old, old))


def test_unfollowed_runs_are_matched_back_or_ended(service_factory: Any) -> None:
    live = service_factory(cluster={"reconcile_interval_s": 2.0})
    found = cluster_run(live, cmd="sleep 5; python /add.py 4 5")
    ghost = cluster_run(live, cmd="sleep 60")
    found_jobs, ghost_jobs = job_ids(found), job_ids(ghost)
    live.stop(kill=True)
    found_folder = run_path(live.runs_dir, run_key(live, found))
    ghost_folder = run_path(live.runs_dir, run_key(live, ghost))
    # Snakemake's child cut off too (systemd stops the whole group): no jobs list.
    forget_job_ids(found_folder, keep_jobs_list=False)
    # The ghost: Slurm has no job of its name (its own is cancelled and renamed
    # away, as if it had never been submitted), nor a jobs list.
    subprocess.run(["scancel", *map(str, ghost_jobs)], check=True)
    forget_job_ids(ghost_folder, keep_jobs_list=False)
    request_file = ghost_folder / "request.json"
    record = json.loads(request_file.read_text())
    record["number"] += 1_000_000
    request_file.write_text(json.dumps(record))
    live.start()
    report = wait_final(found["url"], timeout=120)["info"]["report"]
    assert report["cr"] == "OK", report
    assert report["process"]["job_id"] == found_jobs[0]
    assert requests.get(found["urls"]["run"], timeout=30).json()["info"]["stdout"] == "9.0"
    assert slurm_jobs_of(found_folder) == set(found_jobs)  # not submitted again
    report = wait_final(ghost["url"], timeout=60)["info"]["report"]
    assert report["cr"] == "NOK", report
    assert "Slurm has no job of the run" in report["process"]["cause"]
    assert slurm_jobs_of(ghost_folder) == set()
    assert "found again" in live.log()
