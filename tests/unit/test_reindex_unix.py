"""The run index rebuilt in identity mode "unix" (service/runs/reindex.py): from
the service's own files of each run (state_dir/unix-runs/<folder>), checked
against the Unix user's own run folder, which is looked at, never followed, and
whose runs are left out when they name another owner than the folder's."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from service.accounts import users
from service.accounts.as_user import AsUser
from service.core import atomic
from service.core.store import Store
from service.runs import reindex
from service.runs.folder import folder_name
from service.runs.ledger import Ledger
from service.runs.placement import UNIX_USER_FILE, UnixPlacement
from service.runs.state import ENDED_OK, NOK, OK, RunState
from tests.unit.test_admin_cli import Cli
from tests.unit.test_ledger import KEYS, record_for

OWNERS = {"alice": "wsalice", "bob": "wsbob"}
ME = os.getuid()
WAITING = RunState()


class Site:
    """A unix-mode service's state folder and runs folder, in tmp_path."""

    def __init__(self, tmp_path: Path) -> None:
        self.runs = tmp_path / "ws-runs"
        self.meta = tmp_path / "state" / "unix-runs"
        self.store = Store(tmp_path / "state" / "ws.sqlite3")
        for name, unix_user in OWNERS.items():
            users.add_user(self.store, name, "x", unix_user=unix_user)
            (self.runs / unix_user).mkdir(parents=True)
        self.placement = UnixPlacement(self.runs, self.meta, lambda key: None,
                                       AsUser(Path("/nonexistent")))

    def run(self, key: str, number: int, owner: str = "alice", unix_user: str | None = None,
            state: RunState | None = WAITING, kind: str = "cluster",
            created: float = 1000.0) -> tuple[Path, Path]:
        """(the meta folder, the user's run folder) of a run as ws leaves them."""
        name = folder_name(key)
        meta, folder = self.meta / name, self.runs / (unix_user or OWNERS[owner]) / name
        meta.mkdir(parents=True)
        (folder / "status").mkdir(parents=True)
        (meta / UNIX_USER_FILE).write_text((unix_user or OWNERS[owner]) + "\n")
        atomic.write_json(meta / "request.json",
                          record_for(kind, owner)(key, number, created).to_dict())
        if state is not None:
            atomic.write_json(meta / "state.json", state.to_dict())
        return meta, folder

    def reindex(self, uids: dict[str, int] | None = None) -> dict[str, tuple[object, ...]]:
        """What the index holds once rebuilt: key -> (number, owner, kind, cr)."""
        found = (uids or {}).copy()
        entries = reindex.index_entries(self.store, self.placement,
                                        lambda user: found.get(user, ME))
        self.store.replace_runs(entries)
        return {e.key: (e.number, e.owner, e.kind, e.cr) for e in entries}


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path)


def test_the_runs_of_each_user_are_found_again(site: Site) -> None:
    site.run(KEYS[0], 3, state=RunState(cr=OK, latest_cr=ENDED_OK, jobs=(5,)))
    site.run(KEYS[1], 4, owner="bob", kind="local")
    site.run(KEYS[2], 5, state=None)  # nobody can follow it
    assert reindex.has_run_folders(site.placement)
    assert site.reindex() == {KEYS[0]: (3, "alice", "cluster", "OK"),
                              KEYS[1]: (4, "bob", "local", "WAIT"),
                              KEYS[2]: (5, "alice", "cluster", "NOK")}
    entry = site.store.get_run(KEYS[0])
    assert entry is not None and (entry.owner, entry.created) == ("alice", 1000.0)
    assert site.placement.find(KEYS[0]).path == site.runs / "wsalice" / folder_name(KEYS[0])


def test_a_run_naming_another_owner_than_its_folders_is_left_out(
        site: Site, caplog: pytest.LogCaptureFixture) -> None:
    site.run(KEYS[0], 1)
    # Bob's request, in a folder of wsalice's (alice's): it is not his.
    meta, _ = site.run(KEYS[1], 2, owner="bob", unix_user="wsalice")
    with caplog.at_level(logging.WARNING):
        assert site.reindex() == {KEYS[0]: (1, "alice", "cluster", "WAIT")}
    assert f"{meta} names the owner 'bob', but its folder is wsalice's" in caplog.text


def test_a_folder_of_a_user_mapped_to_nobody_keeps_its_recorded_owner(site: Site) -> None:
    site.run(KEYS[0], 1)
    users.set_unix_user(site.store, "alice", None)
    assert site.reindex() == {KEYS[0]: (1, "alice", "cluster", "WAIT")}
    # The same once the users are lost with the whole database.
    users.remove_user(site.store, "alice")
    users.remove_user(site.store, "bob")
    assert site.reindex() == {KEYS[0]: (1, "alice", "cluster", "WAIT")}


def test_the_users_folder_is_looked_at_never_followed(site: Site, tmp_path: Path) -> None:
    _, linked = site.run(KEYS[0], 1)
    elsewhere = tmp_path / "elsewhere"
    linked.rename(elsewhere)
    linked.symlink_to(elsewhere)  # a real folder of hers, but through a link
    _, filed = site.run(KEYS[1], 2)
    (filed / "status").rmdir()
    filed.rmdir()
    filed.write_text("")
    site.run(KEYS[2], 3, owner="bob")  # a folder in wsbob's, not wsbob's own
    _, gone = site.run(KEYS[3], 4)  # removed: the service's record alone answers
    (gone / "status").rmdir()
    gone.rmdir()
    assert site.reindex({"wsbob": ME + 1}) == {KEYS[3]: (4, "alice", "cluster", "WAIT")}


def test_the_services_files_are_read_as_hostile_too(site: Site, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    meta, _ = site.run(KEYS[0], 1)
    (meta / "request.json").rename(tmp_path / "request.json")
    (meta / "request.json").symlink_to(tmp_path / "request.json")
    meta, _ = site.run(KEYS[1], 2)
    (meta / UNIX_USER_FILE).write_text("../wsbob\n")
    meta, _ = site.run(KEYS[2], 3)
    (meta / UNIX_USER_FILE).unlink()
    (meta / UNIX_USER_FILE).symlink_to(tmp_path / "nowhere")
    meta, _ = site.run(KEYS[3], 4)
    (meta / "state.json").write_text("[]")  # not a state: NOK
    meta, _ = site.run(KEYS[4], 5)
    # Another run's request, copied in: not the folder its request.json names.
    (meta / "request.json").write_bytes((site.meta / folder_name(KEYS[3]) /
                                         "request.json").read_bytes())
    site.run(KEYS[5], 6)
    monkeypatch.setattr(reindex, "MAX_STATE_BYTES", 10)  # a state.json too long: NOK
    assert site.reindex() == {KEYS[3]: (4, "alice", "cluster", "NOK"),
                              KEYS[5]: (6, "alice", "cluster", "NOK")}


async def test_the_service_rebuilds_a_lost_index_at_start(site: Site) -> None:
    site.run(KEYS[0], 1, state=RunState(jobs=(9,)))
    site.run(KEYS[1], 2, kind="local")  # cut off by the stop
    ledger = Ledger(site.store, site.runs.parent / "service-runs", placement=site.placement)
    await ledger.load()  # the UIDs: the system's, which the tmp folders are not
    assert not site.store.has_runs()
    ledger.close()
    ledger = Ledger(site.store, site.runs.parent / "service-runs", placement=site.placement)
    monkey = pytest.MonkeyPatch()
    monkey.setattr(reindex, "system_uid", lambda user: ME)
    try:
        await ledger.load()
    finally:
        monkey.undo()
        ledger.close()
    assert list(ledger.live("cluster")) == [KEYS[0]]
    assert site.store.get_run(KEYS[1]).cr == NOK  # type: ignore[union-attr]


def test_ws_admin_reindex_in_unix_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    cli = Cli(tmp_path, monkeypatch, capsys)
    runs = tmp_path / "ws-runs"
    cli.config_file.write_text(cli.config_file.read_text() + '[identity]\nmode = "unix"\n'
                               f'runs_dir = "{runs}"\n')
    site = Site(tmp_path)
    site.run(KEYS[0], 7, state=RunState(cr=OK, latest_cr=ENDED_OK, jobs=(5,)))
    site.run(KEYS[1], 8, owner="bob", unix_user="wsalice")  # left out
    site.store.db.execute("DELETE FROM runs")
    monkeypatch.setattr(reindex, "system_uid", lambda user: ME)
    assert cli.ok("reindex") == (f"indexed 1 runs from {site.meta} (their run folders "
                                 f"in {runs})\n")
    entry = cli.store().get_run(KEYS[0])
    assert entry is not None and (entry.number, entry.owner, entry.cr) == (7, "alice", "OK")
