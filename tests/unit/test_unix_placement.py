"""Identity mode "unix": where a mapped user's run folder is (their own runs
folder, made and removed as them by ws-as-user, faked here), where the service
keeps its own files of the run (state_dir/unix-runs), and the one command line
the service ever gives sudo."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from service.accounts.as_user import RUN_ID_RE, AsUser, AsUserFailed
from service.core.errors import ClusterUnavailable, NotFound
from service.runs import folder as runfolder
from service.runs.placement import UnixPlacement

KEY = "0b3c8d2e-1f4a-4b5c-9d6e-7f8091a2b3c4"
NAME = runfolder.folder_name(KEY)


class FakeAsUser(AsUser):
    """Does what ws-as-user does, as the test's own user, and remembers it."""

    def __init__(self, runs: Path, refuse: bool = False) -> None:
        super().__init__(Path("/usr/local/libexec/ws/ws-as-user"))
        object.__setattr__(self, "runs", runs)
        object.__setattr__(self, "refuse", refuse)
        object.__setattr__(self, "calls", [])

    def create(self, unix_user: str, run_id: str, built: Path) -> None:
        self.calls.append(("create", unix_user, run_id))  # type: ignore[attr-defined]
        if self.refuse:  # type: ignore[attr-defined]
            raise AsUserFailed("ws-as-user create exited 2: refused")
        shutil.copytree(built, self.runs / unix_user / run_id)  # type: ignore[attr-defined]

    def run(self, unix_user: str, verb: str, run_id: str, timeout: float = 600.0) -> str:
        self.calls.append((verb, unix_user, run_id))  # type: ignore[attr-defined]
        shutil.rmtree(self.runs / unix_user / run_id)  # type: ignore[attr-defined]
        return ""


def _placement(tmp_path: Path, refuse: bool = False,
               mapping: str | None = "wsalice") -> tuple[UnixPlacement, FakeAsUser]:
    (tmp_path / "runs" / "wsalice").mkdir(parents=True)
    fake = FakeAsUser(tmp_path / "runs", refuse)
    return UnixPlacement(tmp_path / "runs", tmp_path / "state" / "unix-runs",
                         lambda key: mapping, fake), fake


def _built(tmp_path: Path) -> Path:
    built = tmp_path / "staging" / NAME
    (built / "work").mkdir(parents=True)
    (built / "Snakefile").write_text("rule all:\n")
    (built / "request.json").write_text(json.dumps({"key": KEY}))
    return built


def _first_state(into: Path) -> None:
    (into / "state.json").write_text("{}")


def test_a_run_folder_is_the_users_and_its_state_the_services(tmp_path: Path) -> None:
    placement, fake = _placement(tmp_path)
    folder = placement.publish(_built(tmp_path), KEY, _first_state)
    meta = tmp_path / "state" / "unix-runs" / NAME
    assert folder.path == tmp_path / "runs" / "wsalice" / NAME
    assert (folder.request_file, folder.state_file) == (meta / "request.json",
                                                        meta / "state.json")
    assert folder.download_file == meta / "download.json"
    assert (folder.path / "Snakefile").is_file()
    assert not (folder.path / "request.json").exists()  # the user cannot rewrite it
    assert fake.calls == [("create", "wsalice", NAME)]  # type: ignore[attr-defined]
    # Found again from what the service recorded, even once the mapping changed.
    again, _ = _placement(tmp_path / "x", mapping="wsbob")
    again.meta_dir, again.runs_dir = placement.meta_dir, placement.runs_dir
    assert again.find(KEY) == folder
    assert placement.remove(KEY)
    assert not folder.path.exists() and not meta.exists()
    assert fake.calls[-1] == ("remove", "wsalice", NAME)  # type: ignore[attr-defined]


def test_a_refused_creation_leaves_nothing(tmp_path: Path) -> None:
    placement, _ = _placement(tmp_path, refuse=True)
    with pytest.raises(ClusterUnavailable, match="could not be made as the Unix user"):
        placement.publish(_built(tmp_path), KEY, _first_state)
    assert list((tmp_path / "state" / "unix-runs").iterdir()) == []
    with pytest.raises(NotFound):
        placement.find(KEY)


def test_an_unmapped_owner_s_run_is_not_published(tmp_path: Path) -> None:
    placement, fake = _placement(tmp_path, mapping=None)
    with pytest.raises(ClusterUnavailable, match="mapped to no Unix user"):
        placement.publish(_built(tmp_path), KEY, _first_state)
    assert fake.calls == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("key", ["", "../x", KEY + "\n", "0" * 40])
def test_unknown_keys_are_not_found(tmp_path: Path, key: str) -> None:
    placement, _ = _placement(tmp_path)
    with pytest.raises(NotFound):
        placement.find(key)


def test_sudo_is_given_one_command_line() -> None:
    as_user = AsUser(Path("/usr/local/libexec/ws/ws-as-user"))
    assert as_user.argv("wsalice", "submit", NAME) == [
        "sudo", "-n", "-u", "wsalice", "/usr/local/libexec/ws/ws-as-user", "submit", NAME]
    for user, run_id in (("#0", NAME), ("-u", NAME), ("wsalice", "../" + NAME),
                         ("wsalice", NAME + "\n")):
        with pytest.raises(AsUserFailed):
            as_user.argv(user, "submit", run_id)
    assert RUN_ID_RE.pattern == runfolder.FOLDER_NAME_RE.pattern
