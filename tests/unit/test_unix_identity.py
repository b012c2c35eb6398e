"""Identity mode "unix": who a ws user may be mapped to (checked against a faked
password database), the mapping kept one to one, set by `ws admin` and the admin
API, and run POSTs of an unmapped user refused with 403 and the reason."""

from __future__ import annotations

import grp
import io
import pwd
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from service.__main__ import main
from service.accounts import unix_users, users
from service.accounts.passwords import hash_password
from service.accounts.unix_users import UnixLookup, check_unix_user
from service.core.config import Config, ConfigError, load_config
from service.core.errors import AccessDenied, Conflict, InvalidParameter
from service.core.identity import IdentityConfig
from service.core.store import Store
from service.web.app import create_app

from .conftest import ClientFactory
from .fakes import FakeBackend, FakeProbe
from .helpers import PASSWORD, assert_error_shape, token_for

SERVICE_UID = 1500  # at a site, the service account's UID may be >= 1000
GROUP_GID = 2000


def _passwd(name: str, uid: int, shell: str = "/bin/bash", gid: int = 100
            ) -> pwd.struct_passwd:
    return pwd.struct_passwd((name, "x", uid, gid, "", f"/home/{name}", shell))


ACCOUNTS = {a.pw_name: a for a in (
    _passwd("alice", 1100), _passwd("bob", 1101), _passwd("carol", 1102),
    _passwd("primary", 1103, gid=GROUP_GID),  # a member by primary group
    _passwd("outsider", 1104),
    _passwd("daemonish", 998), _passwd("ws", SERVICE_UID), _passwd("wsclone", SERVICE_UID),
    _passwd("locked", 1105, "/usr/sbin/nologin"), _passwd("falsy", 1106, "/bin/false"),
    _passwd("noshell", 1107, ""),
)}
MEMBERS = ["alice", "bob", "carol", "locked", "falsy", "noshell", "daemonish", "ws",
           "wsclone"]


def _getpwnam(name: str) -> pwd.struct_passwd:
    return ACCOUNTS[name]


def _getgrnam(name: str) -> grp.struct_group:
    if name != "ws-users":
        raise KeyError(name)
    return grp.struct_group(("ws-users", "x", GROUP_GID, MEMBERS))


FAKE = UnixLookup(_getpwnam, _getgrnam, lambda: SERVICE_UID)


@pytest.fixture(autouse=True)
def fake_accounts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unix_users, "SYSTEM_LOOKUP", FAKE)


# ---- who may be mapped -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["alice", "primary"])
def test_an_ordinary_member_may_be_mapped(name: str) -> None:
    assert check_unix_user(name, "ws-users") == name


@pytest.mark.parametrize("name,says", [
    ("nobody-here", "no Unix user"),
    ("daemonish", "UID 998"),
    ("ws", "is the service account"),
    ("wsclone", "is the service account"),  # another name of the same UID
    ("locked", "no login shell"),
    ("falsy", "no login shell"),
    ("noshell", "no login shell"),
    ("outsider", "not in the group 'ws-users'"),
    # What sudo -u would read as a UID, a group or a netgroup, and other non-names.
    ("#1100", "no Unix user name"), ("%ws-users", "no Unix user name"),
    ("+net", "no Unix user name"), ("-alice", "no Unix user name"),
    ("Alice", "no Unix user name"), ("al/ice", "no Unix user name"),
    ("", "no Unix user name"), ("a" * 33, "no Unix user name"),
    ("alice\n", "no Unix user name"), ("1alice", "no Unix user name"),
])
def test_who_may_not_be_mapped(name: str, says: str) -> None:
    with pytest.raises(InvalidParameter, match=says):
        check_unix_user(name, "ws-users")


def test_the_group_must_exist() -> None:
    with pytest.raises(InvalidParameter, match="no Unix group 'nogroup'"):
        check_unix_user("alice", "nogroup")


def test_an_unmapped_user_may_not_run() -> None:
    assert unix_users.runs_as("alice", "al") == "alice"
    with pytest.raises(AccessDenied, match="none is mapped") as e:
        unix_users.runs_as(None, "al")
    assert "ws admin user unix al UNIXNAME" in e.value.more[0]


# ---- the mapping in the store ----------------------------------------------------------

def test_one_unix_user_per_ws_user(tmp_path: Path) -> None:
    store = Store(tmp_path / "ws.sqlite3")
    users.add_user(store, "al", "h", unix_user="alice")
    users.add_user(store, "b", "h")
    with pytest.raises(Conflict, match="mapped to ws user 'al' already"):
        users.add_user(store, "c", "h", unix_user="alice")
    with pytest.raises(Conflict, match="mapped to ws user 'al' already"):
        users.set_unix_user(store, "b", "alice")
    users.set_unix_user(store, "al", "alice")  # the same mapping again is fine
    users.set_unix_user(store, "b", "bob")
    assert users.get_user(store, "b").unix_user == "bob"  # type: ignore[union-attr]
    users.set_unix_user(store, "b", None)
    assert users.get_user(store, "b").unix_user is None  # type: ignore[union-attr]
    # The service mode's answers are as they were; a mapped user's say whom.
    assert users.get_user(store, "b").as_dict() == {  # type: ignore[union-attr]
        "name": "b", "is_admin": False}
    assert users.get_user(store, "al").as_dict()["unix_user"] == "alice"  # type: ignore[union-attr]


def test_the_mode_is_service_or_unix(tmp_path: Path) -> None:
    path = tmp_path / "ws.toml"
    path.write_text('[identity]\nmode = "unix"\n')
    assert load_config(path, {}).identity.unix
    assert not Config().identity.unix
    path.write_text('[identity]\nmode = "root"\n')
    with pytest.raises(ConfigError, match=r"identity.mode: 'root' is none of"):
        load_config(path, {})


# ---- ws admin ----------------------------------------------------------------------------

def _admin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
           capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    config = tmp_path / "ws.toml"
    config.write_text('state_dir = "state"\nruns_dir = "runs"\n')
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code = main(["--config", str(config), "admin", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_ws_admin_maps_users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    def admin(*argv: str) -> tuple[int, str, str]:
        return _admin(tmp_path, monkeypatch, capsys, *argv)

    code, out, _ = admin("user", "add", "al", "--unix", "alice")
    assert code == 0 and "Unix user alice" in out
    code, _, err = admin("user", "add", "x", "--unix", "locked")
    assert code == 2 and "no login shell" in err
    code, _, err = admin("user", "add", "y", "--unix", "alice")
    assert code == 2 and "mapped to ws user 'al' already" in err
    assert admin("user", "add", "b")[0] == 0
    assert admin("user", "unix", "b", "bob")[0] == 0
    code, _, err = admin("user", "unix", "b", "ws")
    assert code == 2 and "service account" in err
    code, _, err = admin("user", "unix", "nobody", "carol")
    assert code == 2 and "unknown user 'nobody'" in err
    assert admin("user", "list")[1].splitlines() == ["al\tno\talice", "b\tno\tbob"]
    assert admin("user", "unix", "b", "--none")[0] == 0
    assert admin("user", "list")[1].splitlines() == ["al\tno\talice", "b\tno"]
    with pytest.raises(SystemExit):  # a name or --none (argparse's usage error)
        admin("user", "unix", "b")


# ---- the admin API and run POSTs ---------------------------------------------------------

@pytest.fixture
def config(tmp_path: Path) -> Config:
    base = Config(state_dir=tmp_path / "state", runs_dir=tmp_path / "runs")
    return replace(base, local=replace(base.local, warm_snakemake=False),
                   identity=IdentityConfig(mode="unix"))


async def test_the_admin_api_maps_users(client: TestClient[Any, Any],
                                        catalogue_data: Store) -> None:
    token = await token_for(client, "alice")

    async def post(operation: str, status: int, **values: str) -> Any:
        resp = await client.post(f"/api/admin/user/{operation}", json=values,
                                 headers={"Authorization": f"Bearer {token}"})
        body = await resp.json()
        assert resp.status == status, body
        return body

    body = await post("add", 200, name="dave", password=PASSWORD, unix="carol")
    assert body["user"] == {"name": "dave", "is_admin": False, "unix_user": "carol"}
    assert "UID 998" in (await post("add", 400, name="eve", password=PASSWORD,
                                    unix="daemonish"))["error"]
    assert users.get_user(catalogue_data, "eve") is None
    body = await post("update", 200, name="bob", unix="bob")
    assert body["user"]["unix_user"] == "bob"
    await post("update", 409, name="carol", unix="bob")
    await post("update", 400, name="carol", unix="#1101")
    await post("update", 404, name="nobody", unix="alice")
    body = await post("update", 200, name="bob", unix="-")
    assert body["user"] == {"name": "bob", "is_admin": False}


@pytest.mark.parametrize("path", ["/api/software/muse/run/sw_example",
                                  "/api/software/run/sw_example"])
async def test_an_unmapped_user_s_run_is_refused(client: TestClient[Any, Any],
                                                 catalogue_data: Store, path: str) -> None:
    token = await token_for(client, "bob")
    resp = await client.post(path, data={"cmd": "python /add.py 4 5"},
                             headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 403
    body = await resp.json()
    assert_error_shape(body, "forbidden")
    assert "none is mapped to them" in body["error"]
    assert not catalogue_data.has_runs()


async def test_a_mapped_user_s_run_passes_the_check(aiohttp_client: ClientFactory,
                                                    config: Config) -> None:
    client = await aiohttp_client(create_app(config, backend=FakeBackend(),
                                             probe=FakeProbe()))
    from service.web.keys import STORE_KEY
    store = client.app[STORE_KEY]
    users.add_user(store, "bob", hash_password(PASSWORD), unix_user="bob")
    token = await token_for(client, "bob")
    resp = await client.post("/api/software/muse/run/nosuch", data={"cmd": "true"},
                             headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 404  # past the identity check, at the software's lookup
