"""GA4GH TES in identity mode "unix": a mapped user's task is made, run, staged
and cancelled as their Unix user. Their file:// root is theirs alone (0700), so
only a job running as them can read its inputs and write its outputs; a link
they plant towards the other user's root is refused by the job; an unmapped
user is refused at POST."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import tes

from tests.integration.test_tes import BASE, final, get, post, wait_task
from tests.live import LiveService, build_images, make_service, run

pytestmark = pytest.mark.cluster
ALICE, BOB = "wsalice", "wsbob"
BOBS_SECRET = "bob-s-tes-secret-0815"
TES_ROOTS = Path("/srv/ws-tes-roots")


def as_user(unix_user: str, argv: list[str]) -> None:
    subprocess.run(["runuser", "-u", unix_user, "--", *argv], check=True)


@pytest.fixture(scope="module")
def live() -> Iterator[LiveService]:
    # Each Unix user's root, where the compute nodes see it too, closed to everyone
    # else: the service account included.
    # Not in the checkout, whose folders the test users may not traverse (a clone
    # in a 0700 temporary folder); /srv is the compute nodes' too.
    roots = TES_ROOTS / os.urandom(4).hex()
    roots.mkdir(parents=True)
    for folder in (TES_ROOTS, roots):
        os.chmod(folder, 0o755)
    for unix_user in (ALICE, BOB):
        (roots / unix_user).mkdir(mode=0o700)
        subprocess.run(["chown", f"{unix_user}:", str(roots / unix_user)], check=True)
    as_user(BOB, ["sh", "-c", f"echo {BOBS_SECRET} > {roots / BOB}/secret.txt"])
    service = make_service(build_images(), identity={"mode": "unix"},
                           tes={"file_roots": [f"{roots}/{{unix_user}}"],
                                "image_aliases": ["debian=sw_example"]})
    try:
        # sue: a user with access to sw_example (tests/live.py USERS), as wsbob.
        for user, unix_user in (("alice", ALICE), ("sue", BOB)):
            result = service.admin("user", "unix", user, unix_user)
            assert result.returncode == 0, result.stderr
        service.roots = roots  # type: ignore[attr-defined]
        yield service
    finally:
        service.stop()


def root_of(live: LiveService, unix_user: str = ALICE) -> Path:
    return Path(live.roots) / unix_user  # type: ignore[attr-defined]


def client(live: LiveService) -> tes.HTTPClient:
    return tes.HTTPClient(live.url, token=live.token("alice"), timeout=60)


def job_user(body: dict[str, Any]) -> str:
    job = body["logs"][0]["metadata"]["slurm_job_ids"]
    return run(["sacct", "-X", "-n", "-P", "-j", job, "-o", "User"]).stdout.strip()


def test_a_task_reads_runs_and_writes_as_its_unix_user(live: LiveService) -> None:
    mine = root_of(live)
    as_user(ALICE, ["sh", "-c", f"umask 077; echo only mine > {mine}/in.txt"])
    assert run(["runuser", "-u", "ws", "--", "cat", f"{mine}/in.txt"]).returncode != 0
    task_id = client(live).create_task(tes.Task(
        name="tes-unix",
        inputs=[tes.Input(path="/data/in.txt", url=f"file://{mine}/in.txt")],
        outputs=[tes.Output(path="/out/who.txt", url=f"file://{mine}/out/who.txt")],
        executors=[tes.Executor(image="debian",
                                command=["sh", "-c", "id -un; cat /data/in.txt"],
                                stdout="/out/who.txt")]))
    body = final(live, task_id)
    assert body["state"] == "COMPLETE", body
    written = mine / "out" / "who.txt"
    assert written.read_text() == f"{ALICE}\nonly mine\n"
    assert written.stat().st_uid == os.stat(mine).st_uid  # the user's, never chowned
    assert body["logs"][0]["logs"][0]["stdout"] == f"{ALICE}\nonly mine\n"
    assert job_user(body) == ALICE
    storage = requests.get(f"{live.url}{BASE}/service-info", headers=live.auth("alice"),
                           timeout=30).json()["storage"]
    assert storage == [f"file://{mine}"]


def test_links_towards_the_other_users_root_are_refused_by_the_job(
        live: LiveService) -> None:
    mine, bobs = root_of(live), root_of(live, BOB)
    as_user(ALICE, ["ln", "-sfn", str(bobs), f"{mine}/to-bob"])
    reading = client(live).create_task(tes.Task(
        inputs=[tes.Input(path="/data/x", url=f"file://{mine}/to-bob/secret.txt")],
        executors=[tes.Executor(image="debian", command=["cat", "/data/x"])]))
    writing = client(live).create_task(tes.Task(
        outputs=[tes.Output(path="/out/x", url=f"file://{mine}/to-bob/planted.txt")],
        executors=[tes.Executor(image="debian", command=["sh", "-c", "echo x > /out/x"])]))
    for task_id in (reading, writing):
        body = final(live, task_id)
        assert body["state"] == "SYSTEM_ERROR", body
        assert BOBS_SECRET not in str(body)
        assert "no longer under your file:// roots" in str(body["logs"][0]["system_logs"])
    assert sorted(os.listdir(bobs)) == ["secret.txt"]
    # Written as the other user's root: refused at POST, before any job.
    r = post(live, {"executors": [{"image": "debian", "command": ["true"]}],
                    "inputs": [{"path": "/data/x", "url": f"file://{bobs}/secret.txt"}]})
    assert r.status_code == 403 and "outside your file:// roots" in r.text, r.text


def test_cancel_is_done_as_the_user(live: LiveService) -> None:
    task_id = client(live).create_task(tes.Task(
        executors=[tes.Executor(image="debian", command=["sleep", "600"])]))
    running = wait_task(live, task_id, lambda b: b["state"] in {"RUNNING", "COMPLETE",
                                                                "SYSTEM_ERROR"}, longest=3)
    assert running["state"] == "RUNNING", running
    assert job_user(running) == ALICE
    client(live).cancel_task(task_id)
    body = final(live, task_id)
    assert body["state"] == "CANCELED", body
    # The other user (wsbob's ws user) does not see it.
    assert get(live, task_id, user="sue").status_code == 404


def test_an_unmapped_user_is_refused(live: LiveService) -> None:
    r = post(live, {"executors": [{"image": "debian", "command": ["true"]}]}, user="vic")
    assert r.status_code == 403, r.text
    assert "Unix user" in r.json()["error"], r.text
