"""TES in identity mode "unix": file:// paths checked as written at POST (the
service account looks at no file of the user's: the job does, as the user),
roots naming the Unix user, the cancel request in the service's own meta
folder, and tes/ read without following a link the user may have planted."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from service.core.errors import AccessDenied, InvalidParameter
from service.core.tes_config import TesConfig
from service.tes import paths
from service.tes import records as rec
from service.tes.checks import check_task, parse_task
from tests.unit.test_tes_checks import resolve, task


def as_user(doc: dict[str, Any], roots: tuple[str, ...]) -> Any:
    return check_task(parse_task(doc), resolve, roots, 128 * 1024, "apptainer", 1024,
                      as_user=True)


def test_paths_are_checked_as_written(tmp_path: Path) -> None:
    root = "/srv/tes/wsalice"
    assert paths.plain_inside_roots("u", f"{root}/in.txt", (root,)) == f"{root}/in.txt"
    assert paths.plain_inside_roots("u", f"{root}/", (root,)) == root
    with pytest.raises(InvalidParameter, match="plain"):
        paths.plain_inside_roots("u", f"{root}/../wsbob/x", (root,))
    with pytest.raises(InvalidParameter, match="plain"):
        paths.plain_inside_roots("u", f"{root}//x", (root,))
    with pytest.raises(AccessDenied, match="outside"):
        paths.plain_inside_roots("u", f"{root}-not/x", (root,))
    with pytest.raises(AccessDenied, match="no file:// roots"):
        paths.plain_inside_roots("u", f"{root}/x", ())
    # A link is not resolved by the service: the job resolves it as the user.
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "link").symlink_to("/etc")
    assert paths.plain_inside_roots("u", f"{tmp_path}/root/link/passwd",
                                    (f"{tmp_path}/root",)).endswith("link/passwd")


def test_a_task_as_the_user_never_looks_at_its_files() -> None:
    # The input does not exist (or the service cannot see it): only the job says.
    root = "/nonexistent/tes/wsalice"
    plan = as_user(task(inputs=[{"url": f"file://{root}/in.txt", "path": "/data/in.txt"}],
                        outputs=[{"url": f"file://{root}/out.txt",
                                  "path": "/data/out.txt"}]), (root,)).plan
    assert plan.inputs[0].source == f"{root}/in.txt"
    assert plan.outputs[0].dest == f"{root}/out.txt"
    with pytest.raises(AccessDenied):
        as_user(task(inputs=[{"url": "file:///home/wsbob/x", "path": "/data/x"}]), (root,))


def test_roots_may_name_the_unix_user() -> None:
    config = TesConfig(file_roots=("/srv/tes/{user}", "/home/{unix_user}/tes"))
    assert config.problems({}) == []
    assert config.roots_of("alice", "wsalice") == ("/srv/tes/alice", "/home/wsalice/tes")
    assert config.roots_of("alice") == ("/srv/tes/alice",)  # no Unix user: none of it
    assert TesConfig(file_roots=("/home/{unix}",)).problems({})


def test_the_cancel_request_is_the_services_own(tmp_path: Path) -> None:
    assert rec.cancel_marker(tmp_path / "run", None) == tmp_path / "run" / "tes" / "cancel"
    assert rec.cancel_marker(tmp_path / "run", tmp_path / "meta") == \
        tmp_path / "meta" / rec.META_CANCEL


def test_tes_is_read_without_following_links(tmp_path: Path) -> None:
    runs = tmp_path / "wsalice"
    other = tmp_path / "wsbob" / "run2" / "tes"
    other.mkdir(parents=True)
    (other / "task.json").write_text('{"secret": 1}')
    (other / "exec.0.stdout").write_text("bob's")
    run = runs / "run1"
    (run / "tes").mkdir(parents=True)
    (run / "tes" / "exec.0.stdout").write_text("x" * 100 + "end")
    (run / "tes" / "started").write_text("12.5\n")
    (run / "tes" / "task.json").symlink_to(other / "task.json")
    with rec.tes_files(run) as files:
        assert files.tail("exec.0.stdout", 3) == "end"
        assert files.time("started") == 12.5
        assert files.json("task.json") is None  # a link: nothing
        assert files.tail("none", 3) == ""
    # tes/ swapped for a link, then the run folder itself: nothing of bob's shows.
    os.rename(run / "tes", run / "old")
    (run / "tes").symlink_to(other)
    assert rec.read_json(run, "task.json") is None
    (runs / "run3").symlink_to(other.parent)
    with rec.tes_files(runs / "run3") as files:
        assert files.tail("exec.0.stdout", 100) == ""
        assert rec.read_records(files, 1, False).executors[0].start is None
