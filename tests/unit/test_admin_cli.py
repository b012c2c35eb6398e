"""`ws admin ...`, through service.__main__.main as the admin types it."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from service.__main__ import main
from service.accounts import passwords, users
from service.core.config import Config
from service.core.store import Store

from .helpers import PASSWORD


class Cli:
    """Runs `ws --config FILE admin ...` and keeps what it printed."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 capsys: pytest.CaptureFixture[str]) -> None:
        self.config_file = tmp_path / "ws.toml"
        self.config_file.write_text('state_dir = "state"\nruns_dir = "runs"\n')
        self.config = Config(state_dir=tmp_path / "state", runs_dir=tmp_path / "runs")
        self.monkeypatch = monkeypatch
        self.capsys = capsys

    def __call__(self, *argv: str, stdin: str = "") -> tuple[int, str, str]:
        self.monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["--config", str(self.config_file), "admin", *argv])
        out, err = self.capsys.readouterr()
        return code, out, err

    def ok(self, *argv: str, stdin: str = "") -> str:
        code, out, err = self(*argv, stdin=stdin)
        assert code == 0, err
        return out

    def fails(self, *argv: str, stdin: str = "") -> str:
        code, out, err = self(*argv, stdin=stdin)
        assert code == 2, out
        assert err.startswith("ws: ")
        return err

    def store(self) -> Store:
        return Store(self.config.database)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(tmp_path, monkeypatch, capsys)


def test_users(cli: Cli) -> None:
    assert cli.ok("user", "list") == ""
    cli.ok("user", "add", "alice", "--admin", stdin=PASSWORD + "\nignored\n")
    cli.ok("user", "add", "bob", stdin=PASSWORD + "\r\n")
    assert cli.ok("user", "list") == "alice\tyes\nbob\tno\n"
    assert json.loads(cli.ok("user", "list", "--json")) == [
        {"name": "alice", "is_admin": True}, {"name": "bob", "is_admin": False}]
    store = cli.store()
    stored = users.password_hash(store, "bob")
    assert stored is not None and stored.startswith("$argon2id$")
    assert passwords.verify_password(stored, PASSWORD)

    cli.ok("user", "passwd", "bob", stdin="another password\n")
    stored = users.password_hash(store, "bob")
    assert stored is not None and passwords.verify_password(stored, "another password")

    cli.ok("user", "admin", "bob", "yes")
    assert "bob\tyes" in cli.ok("user", "list")
    cli.ok("user", "admin", "bob", "no")
    cli.ok("user", "remove", "bob")
    assert cli.ok("user", "list") == "alice\tyes\n"
    store.close()


def test_user_errors(cli: Cli) -> None:
    cli.ok("user", "add", "alice", stdin=PASSWORD)
    assert "exists already" in cli.fails("user", "add", "alice", stdin=PASSWORD)
    assert "bad user name" in cli.fails("user", "add", "../x", stdin=PASSWORD)
    assert "bad user name" in cli.fails("user", "add", "_x", stdin=PASSWORD)
    assert "password" in cli.fails("user", "add", "bob", stdin="short\n")
    assert "password" in cli.fails("user", "add", "bob", stdin="")
    assert "unknown user" in cli.fails("user", "remove", "bob")
    assert "unknown user" in cli.fails("user", "passwd", "bob", stdin=PASSWORD)
    assert "unknown user" in cli.fails("user", "admin", "bob", "yes")


def test_singularity_containers(cli: Cli, tmp_path: Path) -> None:
    sif = tmp_path / "img.sif"
    sif.write_bytes(b"SIF")
    cli.ok("container", "add", "c1", "--type", "singularity", "--image", str(sif),
           "--desc", "first\tone")
    assert cli.ok("container", "list") == f"c1\tsingularity\t{sif}\tfirst one\n"
    other = tmp_path / "other.sif"
    other.write_bytes(b"SIF")
    cli.ok("container", "update", "c1", "--image", str(other), "--desc", "new")
    assert json.loads(cli.ok("container", "list", "--json")) == [
        {"name": "c1", "type": "singularity", "image": str(other), "desc": "new"}]
    assert "not an existing file" in cli.fails("container", "add", "c2", "--type",
                                               "singularity", "--image",
                                               str(tmp_path / "missing.sif"))
    assert "exists already" in cli.fails("container", "add", "c1", "--type", "singularity",
                                         "--image", str(sif))
    assert "docker-type" in cli.fails("container", "add", "c3", "--type", "singularity",
                                      "--image", str(sif), "--archive", str(sif))
    assert "unknown container" in cli.fails("container", "update", "nothing", "--desc", "x")
    cli.ok("software", "add", "sw", "--container", "c1")
    err = cli.fails("container", "remove", "c1")
    assert "holds softwares" in err and "software sw" in err
    cli.ok("software", "remove", "sw")
    cli.ok("container", "remove", "c1")
    assert cli.ok("container", "list") == ""
    assert "unknown container" in cli.fails("container", "remove", "c1")


def test_softwares(cli: Cli, tmp_path: Path) -> None:
    sif = tmp_path / "img.sif"
    sif.write_bytes(b"SIF")
    cli.ok("container", "add", "c1", "--type", "singularity", "--image", str(sif))
    cli.ok("container", "add", "c2", "--type", "singularity", "--image", str(sif))
    cli.ok("software", "add", "sw_example", "--container", "c1", "--desc", "adds",
           "--shortname", "add", "--url", "doc=https://example.org/doc",
           "--url", "src=https://example.org/src", "--keyword", "math", "--keyword", "demo")
    assert cli.ok("software", "list") == "sw_example\tc1\tadd\tadds\n"
    assert json.loads(cli.ok("software", "list", "--json")) == [{
        "name": "sw_example", "container": "c1", "shortname": "add", "desc": "adds",
        "urls": {"doc": "https://example.org/doc", "src": "https://example.org/src"},
        "keywords": ["math", "demo"]}]
    cli.ok("software", "update", "sw_example", "--container", "c2", "--keyword", "new")
    [listed] = json.loads(cli.ok("software", "list", "--json"))
    assert listed["container"] == "c2" and listed["keywords"] == ["new"]
    assert listed["desc"] == "adds" and len(listed["urls"]) == 2
    cli.ok("software", "update", "sw_example", "--clear-urls", "--clear-keywords")
    [listed] = json.loads(cli.ok("software", "list", "--json"))
    assert listed["urls"] == {} and listed["keywords"] == []

    assert "exists already" in cli.fails("software", "add", "sw_example", "--container", "c1")
    assert "unknown container" in cli.fails("software", "add", "x", "--container", "nope")
    assert "bad software name" in cli.fails("software", "add", "a b", "--container", "c1")
    assert "bad --url" in cli.fails("software", "add", "x", "--container", "c1",
                                    "--url", "nourl")
    assert "bad url" in cli.fails("software", "add", "x", "--container", "c1",
                                  "--url", "doc=javascript:alert(1)")
    assert "unknown software" in cli.fails("software", "update", "nope", "--desc", "x")
    cli.ok("software", "remove", "sw_example")
    assert "unknown software" in cli.fails("software", "remove", "sw_example")
    assert cli.ok("software", "list") == ""


def test_access(cli: Cli, tmp_path: Path) -> None:
    sif = tmp_path / "img.sif"
    sif.write_bytes(b"SIF")
    cli.ok("container", "add", "c1", "--type", "singularity", "--image", str(sif))
    cli.ok("software", "add", "sw", "--container", "c1")
    cli.ok("user", "add", "bob", stdin=PASSWORD)
    cli.ok("user", "add", "carol", stdin=PASSWORD)
    assert "user (2)" in cli.ok("access", "grant", "bob", "--software", "sw", "--level", "2")
    cli.ok("access", "grant", "carol", "--container", "c1", "--level", "3")
    cli.ok("access", "grant", "bob", "--software", "sw", "--level", "4")  # replaces
    assert cli.ok("access", "list") == "bob\tsoftware\tsw\t4\ncarol\tcontainer\tc1\t3\n"
    assert cli.ok("access", "list", "--user", "carol") == "carol\tcontainer\tc1\t3\n"
    assert json.loads(cli.ok("access", "list", "--json", "--user", "bob")) == [
        {"user": "bob", "kind": "software", "target": "sw", "level": 4}]

    for level in ("0", "5", "x"):
        assert "bad access level" in cli.fails("access", "grant", "bob", "--software", "sw",
                                               "--level", level)
    assert "unknown user" in cli.fails("access", "grant", "nobody", "--software", "sw",
                                       "--level", "1")
    assert "unknown software" in cli.fails("access", "grant", "bob", "--software", "x",
                                           "--level", "1")
    assert "unknown container" in cli.fails("access", "grant", "bob", "--container", "x",
                                            "--level", "1")
    cli.ok("access", "revoke", "bob", "--software", "sw")
    assert "no grant" in cli.fails("access", "revoke", "bob", "--software", "sw")
    # Removing a user or a software takes their grants along.
    cli.ok("user", "remove", "carol")
    assert cli.ok("access", "list") == ""


def test_argparse_errors_exit_2(cli: Cli) -> None:
    with pytest.raises(SystemExit) as e:
        cli("access", "grant", "bob", "--level", "1")  # neither --software nor --container
    assert e.value.code == 2
    with pytest.raises(SystemExit):
        cli("container", "add", "c", "--type", "podman", "--image", "/x")


def test_unreadable_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("nonsense = 1\n")
    assert main(["--config", str(bad), "admin", "user", "list"]) == 2
    assert capsys.readouterr().err.startswith("ws: ")
