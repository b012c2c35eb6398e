"""The client side without a service: job ids, the kept token's
file, the command line's parsing and progress lines, waiting and listing parameters."""

from __future__ import annotations

import argparse
import asyncio
import io
import stat
from pathlib import Path

import pytest

from service.__main__ import main
from service.cli import client as client_cli
from service.cli.client_login import Login, load_login, save_login
from service.core.errors import InvalidParameter
from service.core.store import Store
from service.runs.listing import RunListQuery
from service.runs.state import OK, RunState
from service.web.waiting import wait_seconds


def test_job_ids_come_from_the_state() -> None:
    assert RunState(jobs=(5,)).job_ids == (5,)
    assert RunState().job_ids == ()
    assert RunState(jobs=(5, 6, 7)).job_ids == (5, 6, 7)


def test_the_token_file_is_private(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    path = save_login(env, Login("http://h:1", "alice", "tok"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_login(env) == Login("http://h:1", "alice", "tok")
    assert load_login({"HOME": str(tmp_path), "WS_URL": "http://o:2"}).url == "http://o:2"
    assert load_login({"HOME": str(tmp_path / "none")}).token == ""


def test_run_takes_everything_after_the_double_dash_as_the_command() -> None:
    head, cmd = client_cli.split_command(
        ["run", "sw_example", "--wait", "--file", "a", "--", "python", "--wait", "-x"])
    assert head == ["run", "sw_example", "--wait", "--file", "a"]
    assert cmd == ["python", "--wait", "-x"]
    assert client_cli.split_command(["state", "s", "k"]) == (["state", "s", "k"], None)


def test_client_commands_need_no_service_config(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("WS_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("WS_CONFIG", raising=False)
    assert main(["softwares"]) == 2
    assert "cannot reach http://127.0.0.1:9" in capsys.readouterr().err


def _report(cr: str, state: str) -> dict[str, object]:
    return {"info": {"report": {"cr": cr, "process": {"latest_state": state, "job_id": 4}}}}


def test_progress_plain_lines_off_a_terminal() -> None:
    out = io.StringIO()
    progress = client_cli.Progress(out)
    for cr, state in (("WAIT", "PENDING"), ("WAIT", "PENDING"), ("WAIT", "RUNNING"),
                      ("OK", "COMPLETED")):
        progress(_report(cr, state))
    lines = out.getvalue().splitlines()
    assert [line.rsplit(" ", 1)[0] for line in lines] == [
        "WAIT PENDING job 4", "WAIT RUNNING job 4", "OK COMPLETED job 4"]
    assert "\r" not in out.getvalue()


def test_progress_one_live_line_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True
    out = Tty()
    progress = client_cli.Progress(out)
    progress(_report("WAIT", "RUNNING"))
    progress(_report("OK", "COMPLETED"))
    progress.done()
    assert out.getvalue().count("\r\x1b[2K") == 2 and out.getvalue().endswith("\n")


@pytest.mark.parametrize("value,seconds", [(None, 0.0), ("", 0.0), ("2.5", 2.5), ("60", 60)])
def test_wait_seconds(value: object, seconds: float) -> None:
    assert wait_seconds(value) == seconds


@pytest.mark.parametrize("value", ["-1", "61", "nan", "inf", "soon", "1e9"])
def test_wait_seconds_is_bounded(value: str) -> None:
    with pytest.raises(InvalidParameter):
        wait_seconds(value)


def test_run_list_query() -> None:
    q = RunListQuery.parse({"state": "WAIT", "page": "2", "per_page": "5", "jwt": "x"})
    assert (q.state, q.page, q.per_page, q.software) == ("WAIT", 2, 5, None)
    for bad in ({"state": "DONE"}, {"page": "0"}, {"per_page": "101"}, {"page": "x"},
                {"software": ["a"]}):
        with pytest.raises(InvalidParameter):
            RunListQuery.parse(bad)


def test_runs_of_pages_and_filters(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    for i in range(5):
        store.add_run(f"k{i}", "sw_a" if i % 2 else "sw_b", "alice", "cluster")
    store.add_run("other", "sw_a", "bob", "cluster")
    store.set_run_cr("k4", "OK")
    page, total = store.runs_of("alice", limit=2, offset=0)
    assert [e.key for e in page] == ["k4", "k3"] and total == 5
    page, total = store.runs_of("alice", software="sw_a")
    assert [e.key for e in page] == ["k3", "k1"] and total == 2
    page, total = store.runs_of("alice", cr="OK")
    assert [e.key for e in page] == ["k4"] and total == 1
    store.close()


def test_parsers_build(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    client_cli.add_parsers(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["run", "sw", "--sbatch", "time=5", "--module", "m/1",
                              "--local", "--file", "a.txt"])
    assert (args.sbatch, args.module, args.local, args.file) == (
        ["time=5"], ["m/1"], True, [Path("a.txt")])
    assert asyncio.iscoroutinefunction(main) is False


async def test_a_waiting_call_wakes_on_the_ledgers_change(tmp_path: Path) -> None:
    from service.runs.ledger import Ledger
    from service.web.waiting import wait_for_change

    store = Store(tmp_path / "db.sqlite")
    store.add_run("k1", "sw", "alice", "cluster")
    ledger = Ledger(store, tmp_path)
    ledger.folder("k1").path.mkdir()
    start = RunState(jobs=(3,))
    await ledger.change("k1", start)
    waiting = asyncio.ensure_future(wait_for_change(ledger, "k1", start, 30))
    await asyncio.sleep(0)
    await ledger.change("k1", start.moved_to(1.0, latest_state="PENDING"))  # no news
    await asyncio.sleep(0)
    assert not waiting.done()
    await ledger.change("k1", start.moved_to(2.0, latest_state="RUNNING"))
    assert (await asyncio.wait_for(waiting, 5)).latest_state == "RUNNING"
    # Already final: answered at once, from state.json (the view keeps live runs only).
    await ledger.change("k1", start.moved_to(3.0, cr=OK, latest_state="COMPLETED"))
    final = await asyncio.wait_for(wait_for_change(ledger, "k1", start, 30), 5)
    assert final.cr == "OK"
    nothing_new = await wait_for_change(ledger, "k1", final, 0.01)
    assert nothing_new.cr == "OK"
    store.close()


def test_cancel_all_asks_one_call_with_its_filters(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """`ws cancel --all [--software X] [--state S]`: one POST run/cancel (issue 22)."""
    from service.client import api

    asked: list[tuple[str | None, str | None]] = []

    def cancel_many(self: api.WsClient, software: str | None = None,
                    state: str | None = None) -> dict[str, object]:
        asked.append((software, state))
        return {"cancelled": [{"number": 7, "name": "sw", "job_id": 70,
                               "latest_state": "PENDING"}],
                "not_in_slurm_yet": [], "msg": "1 runs cancelled"}

    monkeypatch.setattr(api.WsClient, "cancel_many", cancel_many)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("WS_URL", "http://127.0.0.1:9")
    assert main(["cancel", "--all", "--software", "sw", "--state", "PENDING"]) == 0
    assert main(["cancel", "--all"]) == 0
    assert asked == [("sw", "PENDING"), (None, None)]
    out = capsys.readouterr()
    assert "7\tsw\tjob 70\tPENDING" in out.out and "1 runs cancelled" in out.err
    assert main(["cancel"]) == 2  # neither a run nor --all
    assert main(["cancel", "--all", "sw", "KEY"]) == 2  # both
    assert main(["cancel", "sw"]) == 2
