"""Identity mode "unix", the run's files read as hostile (#20, "Files"): a mapped
user owns their run folder, so their run (or they themselves, logged in) may
narrow its modes or plant links in it. What the service cannot read through the
group ACL it asks ws-as-user to hand over as the user (`export`); a link is never
followed, whatever step of the path it is, so nothing of another user's is served
(the service could read it: the group ACL)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

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
)

pytestmark = pytest.mark.cluster
RUNS = Path("/srv/ws-runs")  # identity.runs_dir's default, ws-as-user's runs_dir
ALICE, BOB = "wsalice", "wsbob"
BOBS_SECRET = "bob-s-secret-4711"


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


@pytest.fixture(scope="module")
def bobs_run(service: LiveService) -> Path:
    """A run of wsbob's, ended, whose stdout is his secret: its folder."""
    answer = cluster_run(service, user="sue", cmd=f"echo {BOBS_SECRET}")
    assert wait_final(answer["url"])["info"]["report"]["cr"] == "OK"
    return RUNS / BOB / folder_name(run_key(service, answer))


def as_user(user: str, *argv: str) -> tuple[int, str]:
    result = run(["runuser", "-u", user, "--", *argv], cwd="/")
    return result.returncode, result.stdout + result.stderr


def ended(service: LiveService, cmd: str, **params: Any) -> tuple[dict[str, Any], Path]:
    """A run of alice's with `cmd`, ended OK: its answer and its folder."""
    answer = cluster_run(service, cmd=cmd, **params)
    state = wait_final(answer["url"])
    assert state["info"]["report"]["cr"] == "OK", state
    return answer, RUNS / ALICE / folder_name(run_key(service, answer))


def results(answer: dict[str, Any]) -> requests.Response:
    return requests.get(answer["url"].replace("/state/", "/run/"), timeout=60)


def content(answer: dict[str, Any]) -> dict[str, bytes]:
    """The run folder's zip: its entries (below the top folder) and their bytes."""
    r = requests.get(answer["url"].replace("/state/", "/content/"), timeout=60)
    assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        return {i.filename.split("/", 1)[1]: z.read(i) for i in z.infolist()
                if not i.is_dir()}


def unreadable_by_the_service(path: Path) -> bool:
    return run(["runuser", "-u", WS_USER, "--", "cat", str(path)], cwd="/").returncode != 0


def test_a_stdout_the_run_made_unreadable_is_handed_over_as_the_user(
        service: LiveService) -> None:
    # chmod of a file with an ACL narrows its mask: the ws group entry loses read.
    answer, folder = ended(service, "echo 42; chmod 600 stdout.txt")
    assert unreadable_by_the_service(folder / "work" / "stdout.txt")
    r = results(answer)
    assert r.status_code == 200, r.text
    assert r.json()["info"]["stdout"] == "42"
    assert content(answer)["work/stdout.txt"] == b"42\n"
    # As a file too.
    answer, folder = ended(service, "echo 43; chmod 600 stdout.txt",
                           returned_type="stdout.txt")
    r = results(answer)
    assert (r.status_code, r.content) == (200, b"43\n"), r.text


def test_folders_the_run_closed_are_handed_over_as_the_user(service: LiveService) -> None:
    # work/ itself (the container's home) closed: nothing in it is reachable.
    answer, folder = ended(service, "mkdir -p d; echo s > d/inner.txt; chmod 700 d; "
                           "echo 44; chmod 700 .")
    assert unreadable_by_the_service(folder / "work" / "stdout.txt")
    r = results(answer)
    assert r.status_code == 200, r.text
    assert r.json()["info"]["stdout"] == "44"
    entries = content(answer)
    assert entries["work/stdout.txt"] == b"44\n"
    assert entries["work/d/inner.txt"] == b"s\n"
    assert "Snakefile" in entries  # the rest of the folder too
    # A zip asked as the run's result, kept for download.
    answer, _ = ended(service, "echo 45 > r.txt; chmod 600 r.txt; chmod 700 .",
                      returned_type="run.zip", todownload=True)
    r = results(answer)
    assert r.status_code == 200, r.text
    zipped = requests.get(r.json()["url"], timeout=60)
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as z:
        names = {i.filename.split("/", 1)[1]: i for i in z.infolist()}
        assert z.read(names["work/r.txt"]) == b"45\n"


def test_a_link_the_run_made_to_another_user_s_file_is_not_served(
        service: LiveService, bobs_run: Path) -> None:
    bobs_stdout = bobs_run / "work" / "stdout.txt"
    # The service can read bob's file (the ACL): alice's run must not make it.
    assert not unreadable_by_the_service(bobs_stdout)
    answer, _ = ended(service, f"rm stdout.txt; ln -s {bobs_stdout} stdout.txt; "
                      f"ln -s {bobs_stdout} other.txt")
    r = results(answer)
    # As for a run that left no stdout.txt: an empty stdout, nothing of bob's.
    assert BOBS_SECRET not in r.text and r.json()["info"]["stdout"] == "", r.text
    entries = content(answer)
    assert BOBS_SECRET.encode() not in b"".join(entries.values())
    # Also when the run's own files are closed, so its zip is handed over as the user.
    answer, _ = ended(service, f"rm stdout.txt; ln -s {bobs_stdout} stdout.txt; "
                      "echo x > y.txt; chmod 600 y.txt")
    r = results(answer)
    assert BOBS_SECRET not in r.text and r.json()["info"]["stdout"] == "", r.text
    entries = content(answer)
    assert BOBS_SECRET.encode() not in b"".join(entries.values())
    assert entries["work/y.txt"] == b"x\n"


@pytest.mark.parametrize("step", ["work", "run folder"])
def test_a_link_the_user_put_anywhere_on_the_path_is_not_followed(
        service: LiveService, bobs_run: Path, step: str) -> None:
    """The user owns the run folder and may log in: after their run ended, they
    swap its work/ (or the run folder itself) for a link to bob's."""
    answer, folder = ended(service, "echo mine")
    if step == "work":
        moved, target = folder / "work", bobs_run / "work"
    else:
        moved, target = folder, bobs_run
    code, said = as_user(ALICE, "mv", str(moved), f"{moved}.old")
    assert code == 0, said
    code, said = as_user(ALICE, "ln", "-s", str(target), str(moved))
    assert code == 0, said
    r = results(answer)
    assert BOBS_SECRET not in r.text, r.text
    assert r.json()["info"]["stdout"] == "", r.text  # none of its own, not bob's
    r = requests.get(answer["url"].replace("/state/", "/content/"), timeout=60)
    assert BOBS_SECRET.encode() not in r.content
    # Put back, for retention.
    run(["rm", str(moved)])
    run(["mv", f"{moved}.old", str(moved)])
