"""A login node is shared with every user of the cluster: another Unix user there
reads nothing of the service (its database holds every run key and password
hash) or of its runs, and an admin's `ws admin` as root leaves nothing the
service cannot use."""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

import pytest
import requests

from service.runs.folder import run_path
from tests.live import (
    WS,
    WS_USER,
    LiveService,
    cluster_run,
    local_run,
    run,
    run_key,
    wait_final,
    wait_running,
)

pytestmark = pytest.mark.cluster
NEIGHBOUR = "wsneighbour"  # an ordinary user of the login node (scripts/cluster-up.sh)


@pytest.fixture(scope="module")
def neighbour() -> str:
    try:
        pwd.getpwnam(NEIGHBOUR)
    except KeyError:
        pytest.fail(f"no user {NEIGHBOUR}: scripts/cluster-up.sh creates it", pytrace=False)
    return NEIGHBOUR


def _not_private(root: Path, owner: int) -> list[str]:
    """Every file or folder of `owner` under root that others may read or enter.
    Snakemake makes its own metadata (.snakemake/metadata) 0660 on purpose: its
    group is the service account's own, in folders no one else enters."""
    found = []
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            info = os.lstat(os.path.join(folder, name))
            allowed = 0o070 if f"{os.sep}.snakemake{os.sep}" in f"{folder}{os.sep}" else 0
            if info.st_uid == owner and not stat.S_ISLNK(info.st_mode) \
                    and stat.S_IMODE(info.st_mode) & 0o077 & ~allowed:
                found.append(f"{oct(stat.S_IMODE(info.st_mode))} {folder}/{name}")
    return found


def test_everything_the_service_writes_is_its_alone(service: LiveService,
                                                     neighbour: str) -> None:
    before = set(service.runs_dir.iterdir())
    answer = cluster_run(service, cmd="python /add.py 4 5", returned_type="stdout")
    assert wait_final(answer["url"])["info"]["report"]["cr"] == "OK"
    assert local_run(service, cmd="python /add.py 1 2").status_code == 200
    ws_uid = pwd.getpwnam(WS_USER).pw_uid
    # This test's two runs (other tests of the session rerun workflows by hand in
    # theirs, as root or with another umask), and the service's own state.
    mine = sorted(p for p in set(service.runs_dir.iterdir()) - before
                  if not p.name.startswith("."))
    assert len(mine) == 2
    for root in (service.state_dir, service.runs_dir, *mine):
        assert stat.S_IMODE(os.stat(root).st_mode) == 0o700
    assert _not_private(service.state_dir, ws_uid) == []
    for run_folder in mine:
        assert _not_private(run_folder, ws_uid) == []
    run_folder = run_path(service.runs_dir, run_key(service, answer))
    # The neighbour, however the folders above are reached: nothing opens.
    for path in (service.state_dir / "ws.sqlite3", service.state_dir / "jwt_secret",
                 run_folder / "request.json", run_folder / "work" / "stdout.txt"):
        assert path.exists()
        result = run(["runuser", "-u", neighbour, "--", "cat", str(path)])
        assert result.returncode != 0 and "Permission denied" in result.stderr, path
    for folder in (service.state_dir, service.runs_dir, run_folder):
        result = run(["runuser", "-u", neighbour, "--", "ls", str(folder)])
        assert result.returncode != 0, folder


def test_the_service_makes_an_older_0755_state_folder_private_again(
        service_factory: object) -> None:
    live = service_factory()  # type: ignore[operator]
    live.stop()
    os.chmod(live.state_dir, 0o755)
    database = live.state_dir / "ws.sqlite3"
    os.chmod(database, 0o644)
    live.start()
    assert stat.S_IMODE(os.stat(live.state_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(database).st_mode) == 0o600


def test_ws_admin_as_root_acts_as_the_service_account(service: LiveService) -> None:
    # An admin's `sudo ws admin ...`: what it writes must stay usable by the service.
    result = run([WS, "--config", str(service.config), "admin", "user", "add", "rooted"],
                 input="a-password-of-rooted\n")
    assert result.returncode == 0, result.stderr
    assert f"running as {WS_USER}" in result.stderr
    root_owned = [p for p in service.state_dir.iterdir() if p.lstat().st_uid == 0]
    assert root_owned == []
    r = requests.post(f"{service.url}/api/jwt/obtain/",
                      data={"username": "rooted", "password": "a-password-of-rooted"},
                      timeout=30)
    assert r.status_code == 200, r.text


def test_no_run_key_reaches_what_slurm_shows_every_user(service: LiveService,
                                                        neighbour: str) -> None:
    # Slurm's default (no PrivateData) shows every job's folder, command and
    # output paths to everyone: none of them may hold the key, which reads the run.
    answer = cluster_run(service, cmd="sleep 30", returned_type="stdout")
    key = run_key(service, answer)
    state = wait_running(answer["url"])
    job_id = str(state["info"]["report"]["process"]["job_id"])
    try:
        shown = [run(["runuser", "-u", neighbour, "--", *argv]).stdout for argv in (
            ["squeue", "-a", "--noheader", "--format=%i %j %Z %o %k"],
            ["scontrol", "show", "job", job_id],
            ["sacct", "-a", "-X", "--noheader", "--parsable2", "--starttime=now-1hours",
             "--format=JobID,JobName,WorkDir"],
            ["ps", "-eo", "args"])]
        assert job_id in shown[0] and f"JobId={job_id}" in shown[1]
        for text in shown:
            assert key not in text and key.split("-")[-1] not in text
    finally:
        run(["scancel", job_id])
