"""Identity mode "unix", end to end on the live cluster: a mapped user's cluster
run is made, submitted, run and cancelled as their own Unix user (through
ws-as-user and its sudoers rule, scripts/unix-users-up.sh), followed by the
service as any run, and its results served; the other user cannot read it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from ws_slurm import records

from service.runs.folder import folder_name
from tests.live import (
    WS_USER,
    LiveService,
    build_images,
    cluster_run,
    make_service,
    run,
    run_key,
    wait_final,
    wait_running,
    wait_state,
)

pytestmark = pytest.mark.cluster
RUNS = Path("/srv/ws-runs")  # identity.runs_dir's default, ws-as-user's runs_dir
ALICE, BOB = "wsalice", "wsbob"


@pytest.fixture(scope="module")
def service() -> Iterator[LiveService]:
    svc = make_service(build_images(), identity={"mode": "unix"})
    try:
        # sue: a user with access to sw_example (tests/live.py USERS), as wsbob.
        for user, unix in (("alice", ALICE), ("sue", BOB)):
            result = svc.admin("user", "unix", user, unix)
            assert result.returncode == 0, result.stderr
        yield svc
    finally:
        svc.stop()


def as_user(user: str, *argv: str) -> tuple[int, str]:
    result = run(["runuser", "-u", user, "--", *argv], cwd="/")
    return result.returncode, result.stdout + result.stderr


def test_a_mapped_user_s_run_is_theirs_end_to_end(service: LiveService) -> None:
    # Both runs at once: one adds, one says who runs it.
    adds = cluster_run(service, cmd="python /add.py 4 5")
    whom = cluster_run(service, cmd="id -un")
    folder = RUNS / ALICE / folder_name(run_key(service, adds))
    assert folder.is_dir() and (folder.owner(), folder.group()) == (ALICE, WS_USER)
    # The service's own files of the run are not in the user's folder.
    assert not (folder / "state.json").exists() and not (folder / "request.json").exists()
    # The other user cannot read it, not even list it.
    assert as_user(BOB, "ls", str(folder))[0] != 0
    assert as_user(BOB, "cat", str(folder / "Snakefile"))[0] != 0

    state = wait_final(adds["url"])
    report = state["info"]["report"]
    assert report["cr"] == "OK", state
    results = requests.get(adds["url"].replace("/state/", "/run/"), timeout=30).json()
    assert results["info"]["stdout"] == "9.0"
    job = report["process"]["job_id"]
    sacct = run(["sacct", "-X", "-n", "-P", "-j", str(job), "-o", "User"])
    assert sacct.stdout.strip() == ALICE, sacct
    jobs = records.read_jobs(str(folder / "status"))
    assert [j.slurm_id for j in jobs] == [job]
    for path in (folder / "work" / "stdout.txt", folder / "status" / "jobs.json"):
        assert path.owner() == ALICE, path

    state = wait_final(whom["url"])
    assert state["info"]["report"]["cr"] == "OK", state
    results = requests.get(whom["url"].replace("/state/", "/run/"), timeout=30).json()
    assert results["info"]["stdout"] == ALICE
    # The other mapped user's run is in their own folder, as them; they still
    # cannot read alice's files.
    bobs = cluster_run(service, user="sue", cmd="id -un")
    bobs_folder = RUNS / BOB / folder_name(run_key(service, bobs))
    assert bobs_folder.owner() == BOB
    assert as_user(BOB, "cat", str(folder / "work" / "stdout.txt"))[0] != 0
    state = wait_final(bobs["url"])
    assert state["info"]["report"]["cr"] == "OK", state
    results = requests.get(bobs["url"].replace("/state/", "/run/"), timeout=30).json()
    assert results["info"]["stdout"] == BOB


def test_cancel_acts_as_the_user(service: LiveService) -> None:
    answer = cluster_run(service, cmd="sleep 300")
    key = run_key(service, answer)
    wait_running(answer["url"])
    r = requests.post(f"{service.url}/api/software/muse/cancel/sw_example/{key}",
                      headers=service.auth("alice"), timeout=60)
    assert r.status_code == 200, r.text
    state = wait_state(answer["url"], lambda b: b["info"]["report"]["cr"] != "WAIT", 60)
    report = state["info"]["report"]
    assert (report["cr"], report["process"]["latest_state"]) == ("NOK", "CANCELLED"), state
    job = report["process"]["job_id"]
    sacct = run(["sacct", "-X", "-n", "-P", "-j", str(job), "-o", "User,State"])
    assert sacct.stdout.strip().startswith(f"{ALICE}|CANCELLED"), sacct

