"""The clients against the live service: the `ws` command as a new user types it,
the Python client, the caller's run list, cancelling, and waiting state calls."""

from __future__ import annotations

import itertools
import os
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from service.client import RunHandle, WsClient, WsClientError
from tests.live import PASSWORD, ROOT, LiveService, cluster_run, wait_final, wait_state

pytestmark = pytest.mark.cluster
WS = str(ROOT / ".venv" / "bin" / "ws")


def ws(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return subprocess.run([WS, *args], input=stdin, text=True, capture_output=True,
                          env=env, timeout=300, check=False)


def test_a_new_user_runs_sw_example_from_the_command_line(service: LiveService,
                                                          tmp_path: Path) -> None:
    login = ws(tmp_path, "login", "--url", service.url, "alice",
               stdin=PASSWORD.format("alice") + "\n")
    assert login.returncode == 0, login.stderr
    kept = tmp_path / ".config" / "ws" / "client.json"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert PASSWORD.format("alice") not in kept.read_text()

    result = ws(tmp_path, "run", "sw_example", "--wait", "--", "python", "/add.py", "4", "5")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "9.0\n"
    # Not a terminal: plain progress lines on stderr, ending OK with the job id.
    assert "OK COMPLETED job" in result.stderr

    listed = ws(tmp_path, "runs", "--state", "OK")
    assert listed.returncode == 0 and "sw_example" in listed.stdout


def test_a_nok_run_exits_non_zero_with_its_cause(service: LiveService,
                                                 tmp_path: Path) -> None:
    assert ws(tmp_path, "login", "--url", service.url, "alice",
              stdin=PASSWORD.format("alice") + "\n").returncode == 0
    result = ws(tmp_path, "run", "sw_example", "--wait", "--", "python", "/add.py", "x")
    assert result.returncode == 1
    assert "the command exited with status" in result.stderr
    assert result.stdout == ""


def test_the_client_class_with_an_uploaded_file(service: LiveService,
                                                tmp_path: Path) -> None:
    (tmp_path / "stdin.txt").write_text("4 66\n")
    client = WsClient(service.url)
    client.login("alice", PASSWORD.format("alice"))
    run = client.run("sw_example", "python /add.py", files=[tmp_path / "stdin.txt"])
    final = client.wait(run, timeout=180)
    assert final["info"]["report"]["cr"] == "OK", final
    assert client.stdout(run) == "70.0"
    assert client.content(run)[:2] == b"PK"


def test_runs_are_listed_for_their_owner_only(service: LiveService) -> None:
    client = WsClient(service.url)
    client.login("alice", PASSWORD.format("alice"))
    run = client.run("sw_example", "python /add.py 1 1")
    client.wait(run, timeout=180)
    mine = client.runs(software="sw_example", per_page=100)
    assert run.key in [r["key"] for r in mine["runs"]]
    assert all(r["name"] == "sw_example" for r in mine["runs"])
    assert [r["number"] for r in mine["runs"]] == sorted(
        (r["number"] for r in mine["runs"]), reverse=True)
    sue = WsClient(service.url)
    sue.login("sue", PASSWORD.format("sue"))
    assert run.key not in [r["key"] for r in sue.runs(per_page=100)["runs"]]
    r = requests.get(f"{service.url}/api/run/list/", timeout=30)
    assert r.status_code == 401 and r.json()["type"] == "unauthorized"
    r = requests.get(f"{service.url}/api/run/list/?per_page=1000", headers=service.auth(),
                     timeout=30)
    assert r.status_code == 400 and r.json()["type"] == "bad_parameter"


def test_cancelling_a_run_ends_it_nok_cancelled(backend_service: LiveService) -> None:
    # With either backend: scancel, or DRMAA's control (whose `failed` the DRMAA
    # source reads as CANCELLED for the jobs it cancelled).
    service = backend_service
    client = WsClient(service.url)
    client.login("alice", PASSWORD.format("alice"))
    run = client.run("sw_example", "sleep 120")
    # Another user cannot cancel it: for them the key does not exist.
    sue = WsClient(service.url)
    sue.login("sue", PASSWORD.format("sue"))
    with pytest.raises(WsClientError) as refused:
        sue.cancel(run)
    assert refused.value.status == 404
    # Nor can anyone without a token.
    anonymous = WsClient(service.url)
    with pytest.raises(WsClientError) as refused:
        anonymous.cancel(run)
    assert refused.value.status == 401

    # Its jobs reach Slurm behind the POST's answer: until then the service says
    # 409 "retry in a moment", and so the client does.
    for _ in range(120):
        try:
            answer = client.cancel(run)
            break
        except WsClientError as e:
            if "no Slurm job yet" not in str(e):
                raise
            time.sleep(0.5)
    final = answer if answer["info"]["report"]["cr"] != "WAIT" else client.wait(run, 60)
    report = final["info"]["report"]
    assert report["cr"] == "NOK"
    assert report["process"]["latest_state"] == "CANCELLED"
    assert report["process"]["latest_cr"] == "ENDED_NOK"
    assert "cancelled" in report["process"]["cause"]
    job_id = report["process"]["job_id"]
    sacct = subprocess.run(["squeue", "--noheader", "--states=all", "--format=%T",
                            f"--jobs={job_id}"], capture_output=True, text=True, check=False)
    assert "RUNNING" not in sacct.stdout and "PENDING" not in sacct.stdout
    with pytest.raises(WsClientError) as over:
        client.cancel(run)
    assert over.value.status == 409


def test_cancelling_many_runs_in_one_call(service_factory: Callable[..., LiveService],
                                         tmp_path: Path) -> None:
    """`ws cancel --all --software X`, then the Python client's cancel_many() for the
    rest (issue 22): one call each, a batch of cancels for Slurm."""
    service = service_factory()
    answers = [cluster_run(service, cmd="sleep 300") for _ in range(3)]
    other = requests.post(f"{service.url}/api/software/muse/run/sw_example_docker/",
                          json={"cmd": "sleep 300"}, headers=service.auth(),
                          timeout=60).json()
    for answer in [*answers, other]:  # all in Slurm (the rest are "not in Slurm yet")
        wait_state(answer["url"], lambda b: b["info"]["report"]["process"]["job_id"]
                   is not None, timeout=120, longest=2.0)
    assert ws(tmp_path, "login", "--url", service.url, "alice",
              stdin=PASSWORD.format("alice") + "\n").returncode == 0
    cancelled = ws(tmp_path, "cancel", "--all", "--software", "sw_example")
    assert cancelled.returncode == 0, cancelled.stderr
    assert len(cancelled.stdout.splitlines()) == 3, cancelled.stdout
    for answer in answers:
        report = wait_final(answer["url"], timeout=60)["info"]["report"]
        assert (report["cr"], report["process"]["latest_state"]) == ("NOK", "CANCELLED")
    assert requests.get(other["url"], timeout=30).json()["info"]["report"]["cr"] == "WAIT"
    client = WsClient(service.url)
    client.login("alice", PASSWORD.format("alice"))
    rest = client.cancel_many(state="NO_SUCH_STATE")
    assert rest["cancelled"] == []
    rest = client.cancel_many()
    assert [r["name"] for r in rest["cancelled"]] == ["sw_example_docker"]
    assert wait_final(other["url"], timeout=60)["info"]["report"]["cr"] == "NOK"
    assert client.runs(state="WAIT")["total"] == 0


def test_a_waiting_state_call_answers_a_change(service: LiveService) -> None:
    client = WsClient(service.url)
    client.login("alice", PASSWORD.format("alice"))
    run = client.run("sw_example", "python /add.py 2 2")
    first = client.state(run)["info"]["report"]
    seen = [(first["cr"], first["process"]["latest_state"])]
    while seen[-1][0] == "WAIT":
        report = client.state(run, wait=30)["info"]["report"]
        seen.append((report["cr"], report["process"]["latest_state"]))
        assert len(seen) < 20, seen
    assert seen[-1] == ("OK", "COMPLETED")
    # Each waiting answer brought news (or the end), not the same state again.
    assert all(a != b for a, b in itertools.pairwise(seen)), seen
    for bad in ("-1", "61", "soon", "nan"):
        r = requests.get(f"{service.url}/api/software/muse/state/sw_example/{run.key}/",
                         params={"wait": bad}, timeout=30)
        assert r.status_code == 400, (bad, r.text)


def test_the_run_handle_needs_its_software(service: LiveService) -> None:
    client = WsClient(service.url)
    with pytest.raises(WsClientError) as unknown:
        client.state(RunHandle("sw_example", "not-a-key"))
    assert unknown.value.status == 404


def test_the_other_commands(service: LiveService, tmp_path: Path) -> None:
    assert ws(tmp_path, "login", "--url", service.url, "alice",
              stdin=PASSWORD.format("alice") + "\n").returncode == 0
    listed = ws(tmp_path, "softwares")
    # Other tests may have added softwares to this service: sw_example is among them.
    assert listed.returncode == 0 and "sw_example\tadds" in listed.stdout.splitlines()
    local = ws(tmp_path, "run", "sw_example", "--local", "--", "python", "/add.py", "4", "5")
    assert (local.returncode, local.stdout) == (0, "9.0\n"), local.stderr

    started = ws(tmp_path, "run", "sw_example", "--returned-type", "stdout.txt",
                 "--sbatch", "time=2", "--", "python", "/add.py", "1", "2")
    assert started.returncode == 0, started.stderr
    key = started.stdout.strip()
    state = ws(tmp_path, "state", "sw_example", key, "--wait")
    assert state.returncode == 0 and state.stdout.startswith("OK\tCOMPLETED"), state
    result = ws(tmp_path, "results", "sw_example", key, "-o", str(tmp_path / "out.txt"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.txt").read_text().strip() == "3.0"
    folder = ws(tmp_path, "content", "sw_example", key, "-o", str(tmp_path / "run.zip"))
    assert folder.returncode == 0 and (tmp_path / "run.zip").read_bytes()[:2] == b"PK"
    as_json = ws(tmp_path, "runs", "--json", "--per-page", "1")
    assert as_json.returncode == 0 and '"total"' in as_json.stdout

    refused = ws(tmp_path, "run", "sw_example", "--sbatch", "time=99999", "--",
                 "python", "/add.py")
    assert refused.returncode == 2 and "forbidden" in refused.stderr, refused.stderr
    assert ws(tmp_path, "logout").returncode == 0
    anonymous = ws(tmp_path, "runs")
    assert anonymous.returncode == 2 and "ws login" in anonymous.stderr
