"""Identity mode "unix", what an admin and the service recover from: a lost run
index, rebuilt by `ws admin reindex` from the service's own files of each run
and its user's run folder; and a run whose jobs list the user removed, cancelled
all the same (ws-as-user cancel also asks Slurm for the user's jobs working in
the run folder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from service.runs.folder import run_path
from tests.live import (
    ROOT,
    UNIX_ALICE,
    WS_USER,
    LiveService,
    cluster_run,
    run,
    run_key,
    unix_service,
    wait_final,
    wait_state,
)

pytestmark = pytest.mark.cluster
PY = str(ROOT / ".venv" / "bin" / "python")


def as_service_sql(live: LiveService, sql: str, *args: str) -> str:
    """`sql` on the service's database, as the service account (as an admin would:
    a file of root's in its state folder would lock the service out of it)."""
    code = ("import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
            "rows = db.execute(sys.argv[2], sys.argv[3:]).fetchall(); db.commit(); "
            "print('\\n'.join('|'.join(map(str, r)) for r in rows))")
    result = run(["runuser", "-u", WS_USER, "--", PY, "-c", code,
                  str(live.state_dir / "ws.sqlite3"), sql, *args])
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def listed(live: LiveService, user: str = "alice") -> list[str]:
    r = requests.get(f"{live.url}/api/run/list/", params={"per_page": 100},
                     headers=live.auth(user), timeout=30)
    assert r.status_code == 200, r.text
    return [item["key"] for item in r.json()["runs"]]


def test_ws_admin_reindex_finds_the_users_runs_again() -> None:
    with unix_service() as live:
        answer = cluster_run(live, cmd="python /add.py 4 5")
        key = run_key(live, answer)
        assert wait_final(answer["url"])["info"]["report"]["cr"] == "OK"
        number = as_service_sql(live, "SELECT number FROM runs WHERE key = ?", key)
        # The admin loses the run index (its rows: the users and grants stay).
        as_service_sql(live, "DELETE FROM runs")
        assert key not in listed(live)
        result = live.admin("reindex")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("indexed 1 runs from "), result.stdout
        assert as_service_sql(live, "SELECT number, owner, kind, cr FROM runs WHERE "
                              "key = ?", key) == f"{number}|alice|cluster|OK"
        assert listed(live) == [key]
        assert key not in listed(live, "bob")
        state = requests.get(answer["url"], timeout=30).json()["info"]["report"]
        assert state["cr"] == "OK", state
        assert requests.get(answer["urls"]["run"], timeout=30).json()["info"][
            "stdout"] == "9.0"


def _down(partition: str = "debug") -> None:
    run(["scontrol", "update", f"PartitionName={partition}", "State=DOWN"])


def _up(partition: str = "debug") -> None:
    run(["scontrol", "update", f"PartitionName={partition}", "State=UP"])


def _in_squeue(job: int) -> bool:
    return bool(run(["squeue", "-h", "-j", str(job), "-o", "%i"]).stdout.strip())


def test_cancel_finds_a_pending_job_its_jobs_list_lost() -> None:
    with unix_service() as live:
        # A partition that is down queues jobs and starts none: the job waits.
        _down()
        try:
            answer = cluster_run(live, cmd="python /add.py 4 5")
            process: dict[str, Any] = wait_state(answer["url"], lambda body: bool(
                body["info"]["report"]["process"].get("job_id")), timeout=60)[
                "info"]["report"]["process"]
            job = int(process["job_id"])
            assert _in_squeue(job)
            folder: Path = run_path(live.runs_dir, run_key(live, answer))
            # The user removes her run's jobs list (the service keeps its own ids).
            removed = run(["runuser", "-u", UNIX_ALICE, "--", "rm", "--",
                           str(folder / "status" / "jobs.json")])
            assert removed.returncode == 0, removed.stderr
            key = run_key(live, answer)
            r = requests.post(f"{live.url}/api/software/muse/cancel/sw_example/{key}",
                              headers=live.auth("alice"), timeout=60)
            assert r.status_code == 200, r.text
            report = wait_final(answer["url"], timeout=60)["info"]["report"]
        finally:
            _up()
        assert (report["cr"], report["process"]["latest_state"]) == ("NOK", "CANCELLED"), \
            report
        assert not _in_squeue(job)
        sacct = run(["sacct", "-X", "-n", "-P", "-j", str(job), "-o", "User,State"])
        assert sacct.stdout.strip().startswith(f"{UNIX_ALICE}|CANCELLED"), sacct
