"""Identity mode "unix", local runs, end to end on the live machine: a mapped
user's local run executes as their own Unix user (`prlimit -- sudo -u USER
ws-as-user run`, service/local/as_user_launch.py), its folder and files are
theirs, its level's rlimits hold (set before sudo, which passes them on), and a
run past the time limit is stopped through sudo with nothing of it left."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import BOUNDED_USER_LEVEL
from tests.live import LiveService, build_images, local_run, make_service, run

pytestmark = pytest.mark.cluster
RUNS = Path("/srv/ws-runs")  # identity.runs_dir's default, ws-as-user's runs_dir
ALICE, BOB = "wsalice", "wsbob"
TIME_LIMIT_S = 20.0


def _unix_service(**sections: dict[str, Any]) -> LiveService:
    svc = make_service(build_images(), identity={"mode": "unix"}, **sections)
    # sue: a user with access to sw_example (tests/live.py USERS), as wsbob.
    for user, unix in (("alice", ALICE), ("sue", BOB)):
        result = svc.admin("user", "unix", user, unix)
        assert result.returncode == 0, result.stderr
    return svc


@pytest.fixture(scope="module")
def service() -> Iterator[LiveService]:
    # alice's level ("user") bounded, sue's ("superuser") not.
    svc = _unix_service(local={"time_limit_s": TIME_LIMIT_S},
                        **{"policy.user": BOUNDED_USER_LEVEL})
    try:
        yield svc
    finally:
        svc.stop()


def new_folder(unix_user: str, post: Callable[[], requests.Response]
               ) -> tuple[requests.Response, Path]:
    """The answer of a local run, and the run folder it made in the user's runs
    folder (nothing else makes folders there while the cluster lock is held)."""
    before = set((RUNS / unix_user).iterdir())
    r = post()
    made = [p for p in set((RUNS / unix_user).iterdir()) - before if p.name[0] != "."]
    assert len(made) == 1, made
    return r, made[0]


def stdout_of(r: requests.Response) -> str:
    assert r.status_code == 200, r.text
    out: str = r.json()["info"]["stdout"]
    return out


def test_each_mapped_user_s_local_run_is_theirs(service: LiveService) -> None:
    r, folder = new_folder(ALICE, lambda: local_run(service, cmd="python /add.py 4 5"))
    assert stdout_of(r) == "9.0"
    assert stdout_of(local_run(service, cmd="id -un")) == ALICE
    assert stdout_of(local_run(service, user="sue", cmd="id -un")) == BOB
    # The run folder and what the run wrote are the user's; the service's own
    # files of the run are not in it.
    for path in (folder, folder / "work" / "stdout.txt", folder / "logs" / "snakemake.log",
                 folder / "status" / "snakemake.exit", folder / "status" / "run.started"):
        assert path.owner() == ALICE, path
    assert not (folder / "state.json").exists()
    # It ran once: a second `run` of the folder is refused.
    result = run(["runuser", "-u", "ws", "--", "sudo", "-n", "-u", ALICE,
                  "/usr/local/libexec/ws/ws-as-user", "run", folder.name], cwd="/")
    assert result.returncode == 2 and "run already" in result.stderr, result


def warm_server(unix_user: str) -> str:
    """The pid of the user's own warm Snakemake, once it answers (started after the
    user's first local run: ws-as-user warm)."""
    sock = RUNS / unix_user / ".warm.sock"
    deadline = time.monotonic() + 60
    # (One left by an older checkout leaves when the service's `warm` probes it.)
    while not (sock.is_socket() and len(pids := run(
            ["pgrep", "-u", unix_user, "-f", "service.local.warm_user"]).stdout.split()) == 1):
        assert time.monotonic() < deadline, "no warm Snakemake of the user's"
        time.sleep(0.1)
    return pids[0]


def test_later_runs_are_children_of_the_user_s_own_warm_snakemake(
        service: LiveService) -> None:
    server = warm_server(ALICE)
    sock = RUNS / ALICE / ".warm.sock"
    assert sock.owner() == ALICE and sock.stat().st_mode & 0o077 == 0
    # The service account cannot talk to it (nor could another user).
    connect = ("import socket; s = socket.socket(socket.AF_UNIX); "
               f"s.connect({str(sock)!r})")
    assert run(["runuser", "-u", "ws", "--", "python3", "-c", connect]).returncode != 0
    before = set((RUNS / ALICE).iterdir())
    answer: list[requests.Response] = []
    thread = threading.Thread(target=lambda: answer.append(
        local_run(service, cmd="sleep 4; python /add.py 1 2")))
    thread.start()
    deadline = time.monotonic() + 60
    parents: set[str] = set()
    while server not in parents and thread.is_alive():
        assert time.monotonic() < deadline
        made = [p for p in set((RUNS / ALICE).iterdir()) - before if p.name[0] != "."]
        for pid in run(["pgrep", "-u", ALICE]).stdout.split():
            with contextlib.suppress(OSError):
                if made and os.readlink(f"/proc/{pid}/cwd") == str(made[0]):
                    parents.add(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1]
                                .split()[1])
        time.sleep(0.05)
    thread.join(60)
    assert server in parents, parents  # its Snakemake was the warm one's child
    assert stdout_of(answer[0]) == "3.0"
    # The same server serves the next run too: one per user.
    assert stdout_of(local_run(service, cmd="id -un")) == ALICE
    assert warm_server(ALICE) == server


def limits_of(text: str) -> dict[str, tuple[str, str]]:
    """/proc/self/limits: name -> (soft, hard)."""
    found = {}
    for line in text.splitlines()[1:]:
        name, rest = line[:26].strip(), line[26:].split()
        found[name] = (rest[0], rest[1])
    return found


def test_the_level_s_rlimits_hold_as_the_user(service: LiveService) -> None:
    limits = limits_of(stdout_of(local_run(service, cmd="cat /proc/self/limits")))
    data = str(600 * 1024 * 1024)
    assert limits["Max data size"] == (data, data)
    assert limits["Max processes"] == ("3000", "3000")
    assert limits["Max cpu time"] == ("12", "17")
    # Hard limits: the user cannot raise them again.
    r = local_run(service, cmd="sh -c 'ulimit -d unlimited 2>/dev/null && echo raised "
                               "|| echo kept'")
    assert stdout_of(r) == "kept"
    # An allocation over the bound fails in the command.
    r = local_run(service, cmd="python -c 'x = bytearray(900 * 1024 * 1024); print(1)'")
    assert r.status_code == 422, r.text
    assert "MemoryError" in r.json()["report"]["stderr"]
    # A CPU burner is stopped at its CPU time, long before the wall limit.
    start = time.monotonic()
    r = local_run(service, cmd="python -c 'while True: pass'")
    assert r.status_code == 422, r.text
    assert time.monotonic() - start < TIME_LIMIT_S
    # sue's level has its own bounds (the superuser level's defaults).
    limits = limits_of(stdout_of(local_run(service, user="sue", cmd="cat /proc/self/limits")))
    assert limits["Max cpu time"] == ("300", "305")
    assert limits["Max data size"][1] == str(8192 * 1024 * 1024)


def processes_of(unix_user: str, folder: Path, marker: str) -> list[str]:
    """The user's processes still about the run: working in its folder, or named
    by the marker of its command."""
    found = []
    for pid in run(["pgrep", "-u", unix_user]).stdout.split():
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # gone meanwhile
        if cwd.startswith(str(folder)) or marker in cmdline:
            found.append(f"{pid} {cwd} {cmdline}")
    return found


def test_a_run_past_the_time_limit_is_stopped_with_nothing_left(
        service: LiveService) -> None:
    marker = "sleep 317"  # this test's alone
    # Nothing else runs as the user under the cluster lock: whatever of theirs
    # starts now is this run's.
    before = set(run(["pgrep", "-u", ALICE]).stdout.split())
    t0 = time.monotonic()
    r, folder = new_folder(ALICE, lambda: local_run(service, cmd=f"{marker}; echo late"))
    assert r.status_code == 422, r.text
    assert "time limit" in r.json()["report"]["cause"]
    assert time.monotonic() - t0 < TIME_LIMIT_S + 30
    # The command had started: it was stopped, not refused.
    assert (folder / "status" / "run.started").exists()
    state = json.loads((service.state_dir / "unix-runs" / folder.name / "state.json")
                       .read_text())
    assert state["latest_state"] == "TIMEOUT", state
    # SIGTERM to sudo, relayed to ws-as-user, which SIGKILLs the job's group:
    # Snakemake, the container and the command. Killed processes are reaped by
    # init when it gets to them: waited for, a little.
    deadline = time.monotonic() + 10
    while left := processes_of(ALICE, folder, marker):
        assert time.monotonic() < deadline, left
        time.sleep(0.1)
    # Those that left the job's process group too (Apptainer's squashfuse_ll).
    # (The user's warm Snakemake, if it started meanwhile, stays: it is not the run's.)
    before |= set(run(["pgrep", "-u", ALICE, "-f", "service.local.warm_user"]).stdout.split())
    while new := sorted(set(run(["pgrep", "-u", ALICE]).stdout.split()) - before):
        assert time.monotonic() < deadline, [
            Path(f"/proc/{pid}/cmdline").read_bytes() for pid in new
            if Path(f"/proc/{pid}").exists()]
        time.sleep(0.1)
