"""GA4GH TES v1.1, driven end to end by py-tes (and plain requests for what py-tes
does not send) against the live service and cluster: tasks are ws cluster runs."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import tes

from tests.live import ROOT, WS_USER, LiveService, build_images, make_service

BASE = "/ga4gh/tes/v1"
FINAL = {"COMPLETE", "EXECUTOR_ERROR", "SYSTEM_ERROR", "CANCELED", "PREEMPTED"}


@pytest.fixture(scope="module")
def live() -> Iterator[LiveService]:
    # Each user's file:// root, where the compute nodes see it too (not var/state).
    parent = ROOT / "var" / "tes-roots"
    roots = parent / os.urandom(4).hex()
    for user in ("alice", "sue"):
        (roots / user).mkdir(parents=True)
    subprocess.run(["chown", "-R", f"{WS_USER}:", str(parent)], check=True)
    service = make_service(build_images(), tes={"file_roots": [f"{roots}/{{user}}"],
                                                "image_aliases": ["debian=sw_example"]})
    service.roots = roots  # type: ignore[attr-defined]
    try:
        yield service
    finally:
        service.stop()


def client(live: LiveService, user: str = "alice") -> tes.HTTPClient:
    return tes.HTTPClient(live.url, token=live.token(user), timeout=60)


def root(live: LiveService, user: str = "alice") -> Path:
    return Path(live.roots) / user  # type: ignore[attr-defined]


def get(live: LiveService, task_id: str, user: str = "alice", **params: Any
        ) -> requests.Response:
    return requests.get(f"{live.url}{BASE}/tasks/{task_id}", params=params,
                        headers=live.auth(user), timeout=90)


def wait_task(live: LiveService, task_id: str, until: Callable[[dict[str, Any]], bool],
              timeout: float = 180, longest: float = 30) -> dict[str, Any]:
    """The task (FULL) once `until` holds, waiting on the service's side (?wait=)."""
    deadline = time.monotonic() + timeout
    wait = 0.0
    while True:
        body: dict[str, Any] = get(live, task_id, view="FULL", wait=f"{wait:.1f}").json()
        remaining = deadline - time.monotonic()
        if until(body) or remaining <= 0:
            return body
        wait = min(longest, remaining)


def final(live: LiveService, task_id: str) -> dict[str, Any]:
    return wait_task(live, task_id, lambda b: b["state"] in FINAL)


def test_two_executors_content_file_volume_output(live: LiveService) -> None:
    (root(live) / "input.txt").write_text("from a file\n")
    subprocess.run(["chown", f"{WS_USER}:", str(root(live) / "input.txt")], check=True)
    task = tes.Task(
        name="tes-two", tags={"suite": "tes", "kind": "two"},
        inputs=[tes.Input(path="/data/in/args.txt", content="from content\n"),
                tes.Input(path="/data/in/file.txt", url=f"file://{root(live)}/input.txt")],
        outputs=[tes.Output(path="/out/result.txt",
                            url=f"file://{root(live)}/out/result.txt"),
                 tes.Output(path="/shared/logs/*.log", path_prefix="/shared",
                            url=f"file://{root(live)}/kept")],
        volumes=["/shared"],
        executors=[
            tes.Executor(image="debian", command=[
                "sh", "-c", "cat /data/in/args.txt /data/in/file.txt > /shared/both && "
                "mkdir -p /shared/logs && echo a > /shared/logs/a.log && "
                "echo no > /shared/logs/b.txt"]),
            tes.Executor(image="sw_example", command=["cat", "/shared/both"],
                         stdout="/out/result.txt", env={"GREETING": "hi, there"}),
        ])
    task_id = client(live).create_task(task)
    body = final(live, task_id)
    assert body["state"] == "COMPLETE", body
    written = root(live) / "out" / "result.txt"
    assert written.read_text() == "from content\nfrom a file\n"
    log = body["logs"][0]
    assert [e["exit_code"] for e in log["logs"]] == [0, 0]
    assert log["logs"][1]["stdout"] == "from content\nfrom a file\n"
    assert all("T" in e["start_time"] and e["end_time"] for e in log["logs"])
    assert log["outputs"] == [{"url": f"file://{root(live)}/out/result.txt",
                               "path": "/out/result.txt", "size_bytes": "25"},
                              {"url": f"file://{root(live)}/kept/logs/a.log",
                               "path": "/shared/logs/a.log", "size_bytes": "2"}]
    assert (root(live) / "kept" / "logs" / "a.log").read_text() == "a\n"
    assert not (root(live) / "kept" / "logs" / "b.txt").exists()
    job = log["metadata"]["slurm_job_ids"]
    assert job.isdigit() and f"slurm job {job}" in log["system_logs"]
    # py-tes reads every view back.
    full = client(live).get_task(task_id, view="FULL")
    assert full.state == "COMPLETE" and full.inputs[0].content == "from content\n"


def test_a_failing_executor_ends_the_task_and_outputs_are_still_written(
        live: LiveService) -> None:
    task = tes.Task(
        name="tes-fail", tags={"suite": "tes"}, volumes=["/shared"],
        outputs=[tes.Output(path="/shared", type="DIRECTORY",
                            url=f"file://{root(live)}/failed")],
        executors=[
            tes.Executor(image="debian", command=[
                "sh", "-c", "echo partial > /shared/partial; echo oops >&2; exit 3"]),
            tes.Executor(image="debian", command=["touch", "/shared/second-ran"]),
        ])
    task_id = client(live).create_task(task)
    body = final(live, task_id)
    assert body["state"] == "EXECUTOR_ERROR", body
    logs = body["logs"][0]["logs"]
    assert len(logs) == 1 and logs[0]["exit_code"] == 3 and "oops" in logs[0]["stderr"]
    assert (root(live) / "failed" / "partial").read_text() == "partial\n"
    assert not (root(live) / "failed" / "second-ran").exists()


def test_cancel(live: LiveService) -> None:
    task_id = client(live).create_task(tes.Task(
        name="tes-cancel", executors=[tes.Executor(image="debian", command=["sleep", "600"])]))
    running = wait_task(live, task_id, lambda b: b["state"] in FINAL | {"RUNNING"},
                        longest=3)
    assert running["state"] == "RUNNING", running
    client(live).cancel_task(task_id)
    assert final(live, task_id)["state"] == "CANCELED"


def test_views_and_list_filters(live: LiveService) -> None:
    c = client(live)
    task_id = c.create_task(tes.Task(
        name="tes-views", tags={"suite": "tes", "kind": "views"},
        inputs=[tes.Input(path="/data/x", content="secret-ish")],
        executors=[tes.Executor(image="debian", command=["cat", "/data/x"])]))
    final(live, task_id)
    minimal = get(live, task_id).json()
    assert set(minimal) == {"id", "state"} and minimal["state"] == "COMPLETE"
    basic = get(live, task_id, view="BASIC").json()
    assert "content" not in basic["inputs"][0]
    assert "stdout" not in basic["logs"][0]["logs"][0]
    assert "system_logs" not in basic["logs"][0]
    full = get(live, task_id, view="FULL").json()
    assert full["inputs"][0]["content"] == "secret-ish"
    assert full["logs"][0]["logs"][0]["stdout"] == "secret-ish"

    def ids(**params: Any) -> list[str]:
        r = requests.get(f"{live.url}{BASE}/tasks", params=params, headers=live.auth(),
                         timeout=30)
        assert r.status_code == 200, r.text
        return [t["id"] for t in r.json()["tasks"]]
    assert task_id in ids(name_prefix="tes-v")
    assert task_id not in ids(name_prefix="tes-two")
    assert task_id in ids(tag_key="kind", tag_value="views")
    assert task_id in ids(tag_key="kind")
    assert task_id not in ids(tag_key="kind", tag_value="two")
    assert task_id in ids(state="COMPLETE") and task_id not in ids(state="EXECUTOR_ERROR")
    # Pages: one task each, newest first, every task once.
    seen, token = [], None
    while True:
        page = c.list_tasks(view="MINIMAL", page_size=1, page_token=token)
        seen += [t.id for t in page.tasks]
        token = page.next_page_token
        if not token:
            break
    assert seen[0] == task_id and len(seen) == len(set(seen)) == len(ids())
    info = c.get_service_info()
    assert info.type["artifact"] == "tes" and info.storage == [f"file://{root(live)}"]


def post(live: LiveService, task: dict[str, Any], user: str = "alice") -> requests.Response:
    return requests.post(f"{live.url}{BASE}/tasks", json=task, headers=live.auth(user),
                         timeout=30)


def test_refusals(live: LiveService) -> None:
    ex = {"image": "debian", "command": ["true"]}
    outside = root(live) / "escape"
    outside.symlink_to("/etc")
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"executors": [{"image": "ubuntu:22.04", "command": ["true"]}]}, 400, "unknown image"),
        ({"executors": [ex], "inputs": [{"path": "/data/x", "url": "s3://b/x"}]}, 400, "s3"),
        ({"executors": [ex], "inputs": [{"path": "/data/x", "url": "file:///etc/passwd"}]},
         403, "outside your file:// roots"),
        ({"executors": [ex], "inputs": [{"path": "/data/x",
                                         "url": f"file://{outside}/passwd"}]},
         403, "outside your file:// roots"),
        ({"executors": [ex], "outputs": [{"path": "/data/x", "url": "file:///tmp/x"}]},
         403, "outside"),
        ({"executors": [ex], "volumes": ["/etc/x"]}, 400, "system path"),
        ({"executors": [ex], "volumes": ["data"]}, 400, "absolute"),
        ({"executors": [ex], "inputs": [{"path": "/data/x", "content": "x" * 200_000}]},
         413, "content"),
        ({"executors": [ex], "resources": {"backend_parameters": {"VmSize": "big"},
                                           "backend_parameters_strict": True}},
         400, "VmSize"),
        ({"executors": [ex], "resources": {"cpu_cores": 64}}, 403, "cpus-per-task"),
        ({"executors": []}, 400, "executors"),
    ]
    for task, status, says in cases:
        r = post(live, task)
        assert (r.status_code, says in r.text) == (status, True), (task, r.text)
        assert set(r.json()) >= {"error", "more", "type"}
    assert post(live, {"executors": [ex]}, user="bob").status_code == 403  # no access
    huge = {"executors": [ex], "description": "x" * 3_000_000}
    assert post(live, huge).status_code == 413
    anonymous = requests.post(f"{live.url}{BASE}/tasks", json={"executors": [ex]}, timeout=30)
    assert anonymous.status_code == 401
    assert requests.get(f"{live.url}{BASE}/service-info", timeout=30).status_code == 200


def test_another_users_task_is_not_found(live: LiveService) -> None:
    task_id = client(live).create_task(tes.Task(
        executors=[tes.Executor(image="debian", command=["true"])]))
    assert get(live, task_id, user="sue").status_code == 404
    cancel = requests.post(f"{live.url}{BASE}/tasks/{task_id}:cancel",
                           headers=live.auth("sue"), timeout=30)
    assert cancel.status_code == 404
    r = requests.get(f"{live.url}{BASE}/tasks", headers=live.auth("sue"), timeout=30)
    assert task_id not in [t["id"] for t in r.json()["tasks"]]
    assert final(live, task_id)["state"] == "COMPLETE"
