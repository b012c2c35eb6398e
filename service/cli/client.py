"""`ws login|softwares|run|runs|state|results|content|cancel`: the users' client,
a thin layer over service.client.WsClient. Exit codes: 0 OK, 1 the run ended NOK
(cause on stderr), 2 the API refused or could not be reached."""

from __future__ import annotations

import argparse
import getpass
import json
import shlex
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO, TypeAlias

from service.cli.client_login import (
    Login,
    forget_login,
    load_login,
    save_login,
    token_elsewhere,
)
from service.client import RunHandle, WsClient, WsClientError
from service.client.http import Answer, origin

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
COMMANDS = ("login", "logout", "softwares", "run", "runs", "state", "results", "content",
            "cancel")


def add_parsers(sub: SubParsers) -> None:
    p = sub.add_parser("login", help="obtain a token and keep it in ~/.config/ws (0600)")
    p.add_argument("username")
    p.add_argument("--url", help="the service, e.g. http://127.0.0.1:8000 (kept)")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from stdin (else a prompt on a terminal)")
    sub.add_parser("logout", help="forget the kept token")
    p = sub.add_parser("softwares", help="list the softwares")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("run", help="run SOFTWARE [options] -- CMD")
    p.add_argument("software")
    p.add_argument("--file", action="append", default=[], type=Path, help="upload (repeat)")
    p.add_argument("--sbatch", action="append", default=[], metavar="OPT",
                   help="sbatch option, e.g. time=5 or --mem=500M (repeat)")
    p.add_argument("--module", action="append", default=[], help="module to load (repeat)")
    p.add_argument("--cmd-option", default="", help="Singularity options, e.g. --cleanenv")
    p.add_argument("--returned-type", default="stdout",
                   choices=("stdout", "stdout.txt", "run.zip"))
    p.add_argument("--local", action="store_true", help="run on the service's machine")
    p.add_argument("--wait", action="store_true", help="follow the run to its end")
    p.add_argument("-o", "--output", type=Path, help="where to write a file result")
    p.add_argument("--json", action="store_true")
    p.add_argument("cmd", nargs="*", help="-- the command, in the container")
    p = sub.add_parser("runs", help="your runs, newest first")
    p.add_argument("--state", choices=("WAIT", "OK", "NOK"))
    p.add_argument("--software")
    p.add_argument("--page", type=int, default=1)
    p.add_argument("--per-page", type=int, default=20)
    p.add_argument("--json", action="store_true")
    for name, what in (("state", "a run's state"), ("results", "a run's results"),
                       ("content", "a run's folder as a zip"),
                       ("cancel", "cancel a run (SOFTWARE KEY), or many (--all)")):
        p = sub.add_parser(name, help=what)
        many = name == "cancel"  # ws cancel --all [--software X] [--state S]
        p.add_argument("software", nargs="?" if many else None)
        p.add_argument("key", nargs="?" if many else None)
        p.add_argument("--json", action="store_true")
        if many:
            p.add_argument("--all", action="store_true",
                           help="all your live cluster runs (or those --software, --state)")
            p.add_argument("--software", dest="only_software", metavar="SOFTWARE",
                           help="with --all: only runs of this software")
            p.add_argument("--state", metavar="SLURM_STATE",
                           help="with --all: only runs in this Slurm state, e.g. PENDING")
        if name == "state":
            p.add_argument("--wait", action="store_true", help="follow the run to its end")
        if name in ("results", "content"):
            p.add_argument("-o", "--output", type=Path, help="file to write")


def split_command(argv: list[str]) -> tuple[list[str], list[str] | None]:
    """`ws run ... -- CMD`: the options before `--`, and CMD as it was typed (argparse
    would take options after the software name for the command's own)."""
    if "run" in argv and "--" in argv and argv.index("run") < argv.index("--"):
        cut = argv.index("--")
        return argv[:cut], argv[cut + 1:]
    return argv, None


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    login = load_login(env)
    url = getattr(args, "url", None) or login.url
    # A token goes only to the origin it was obtained from.
    token = login.token if origin(url) == origin(login.url) else ""
    client = WsClient(url, token or None)
    try:
        return _COMMANDS[args.command](args, client, env)
    except WsClientError as e:
        print(f"ws: {e}", file=sys.stderr)
        if e.type == "run_failed":  # a local run that ended NOK: its cause is above
            return 1
        if e.status == 401:
            hint = token_elsewhere(env) or "log in again: ws login USERNAME"
            print(f"ws: {hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _login(args: argparse.Namespace, client: WsClient, env: Mapping[str, str]) -> int:
    if args.password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.username}: ")
    token = client.login(args.username, password)
    path = save_login(env, Login(client.url, args.username, token))
    print(f"logged in to {client.url} as {args.username} (token kept in {path})",
          file=sys.stderr)
    return 0


def _logout(args: argparse.Namespace, client: WsClient, env: Mapping[str, str]) -> int:
    forget_login(env)
    return 0


def _softwares(args: argparse.Namespace, client: WsClient, env: Mapping[str, str]) -> int:
    found = client.softwares()
    if args.json:
        _print_json(found)
    for sw in [] if args.json else found:
        print(f"{sw['name']}\t{sw['info']['sw'].get('desc', '')}")
    return 0


class Progress:
    """One live line on a terminal (rewritten in place); plain lines otherwise."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.start = time.monotonic()
        self.last = ""

    def __call__(self, body: dict[str, Any]) -> None:
        process = body["info"]["report"]["process"]
        line = (f"{body['info']['report']['cr']} {process.get('latest_state')} "
                f"job {process.get('job_id')}")
        elapsed = f"{time.monotonic() - self.start:.1f}s"
        if self.tty:
            self.out.write(f"\r\x1b[2K{line}  {elapsed}")
            self.out.flush()
        elif line != self.last:
            self.out.write(f"{line} {elapsed}\n")
        self.last = line

    def done(self) -> None:
        if self.tty:
            self.out.write("\n")


def _sbatch(option: str) -> str:
    return option if option.startswith("--") else f"--{option}"


def _run(args: argparse.Namespace, client: WsClient, env: Mapping[str, str]) -> int:
    cmd = args.cmd
    answer = client.start(args.software, shlex.join(cmd), files=args.file,
                          cmd_option=args.cmd_option, sbatch=[_sbatch(o) for o in args.sbatch],
                          modules=args.module, returned_type=args.returned_type,
                          local=args.local)
    if args.local:
        return _show_results(answer, args, client)
    started = answer.json()
    handle = RunHandle(args.software, str(started["url"]).rstrip("/").rsplit("/", 1)[-1])
    if not args.wait:
        if args.json:
            _print_json(started)
        else:
            print(handle.key)
        return 0
    progress = Progress(sys.stderr)
    final = client.wait(handle, on_state=None if args.json else progress)
    progress.done()
    if final["info"]["report"]["cr"] != "OK":
        return _nok(final, args)
    return _show_results(client.results(handle), args, client)


def _nok(body: dict[str, Any], args: argparse.Namespace) -> int:
    if args.json:
        _print_json(body)
    cause = body["info"]["report"]["process"].get("cause", "")
    print(f"ws: the run ended NOK: {cause}", file=sys.stderr)
    return 1


def _show_results(answer: Answer, args: argparse.Namespace, client: WsClient) -> int:
    if answer.content_type == "application/json":
        data = answer.json()
        if args.json:
            _print_json(data)
        elif "stdout" in data.get("info", {}):
            print(data["info"]["stdout"])
        elif "url" in data:  # kept for download
            print(data["url"])
        return 0
    target = args.output or Path(answer.filename or "result")
    target.write_bytes(answer.body)
    print(f"wrote {target} ({len(answer.body)} bytes)", file=sys.stderr)
    return 0


def _runs(args: argparse.Namespace, client: WsClient, env: Mapping[str, str]) -> int:
    page = client.runs(args.state, args.software, args.page, args.per_page)
    if args.json:
        _print_json(page)
        return 0
    for r in page["runs"]:
        print(f"{r['number']}\t{r['created']}\t{r['name']}\t{r['kind']}\t{r['cr']}\t"
              f"{r['latest_state']}\t{r['key']}")
    print(f"page {page['page']}, {len(page['runs'])} of {page['total']}", file=sys.stderr)
    return 0


def _state(args: argparse.Namespace, client: WsClient, env: Mapping[str, str]) -> int:
    handle = RunHandle(args.software, args.key)
    if args.wait:
        progress = Progress(sys.stderr)
        body = client.wait(handle, on_state=None if args.json else progress)
        progress.done()
    else:
        body = client.state(handle)
    if args.json:
        _print_json(body)
    else:
        report = body["info"]["report"]
        process = report["process"]
        print(f"{report['cr']}\t{process.get('latest_state')}\tjob {process.get('job_id')}"
              f"\t{process.get('cause', '')}".rstrip())
    return {"OK": 0, "NOK": 1}.get(body["info"]["report"]["cr"], 0)


def _results(args: argparse.Namespace, client: WsClient, env: Mapping[str, str]) -> int:
    return _show_results(client.results(RunHandle(args.software, args.key)), args, client)


def _content(args: argparse.Namespace, client: WsClient, env: Mapping[str, str]) -> int:
    data = client.content(RunHandle(args.software, args.key))
    target = args.output or Path(f"{args.key}.zip")
    target.write_bytes(data)
    print(f"wrote {target} ({len(data)} bytes)", file=sys.stderr)
    return 0


def _cancel(args: argparse.Namespace, client: WsClient, env: Mapping[str, str]) -> int:
    if args.all == bool(args.software and args.key) or (args.all and args.software):
        print("ws cancel: give SOFTWARE KEY, or --all [--software X] [--state S]",
              file=sys.stderr)
        return 2
    if args.all:
        many = client.cancel_many(args.only_software, args.state)
        if args.json:
            _print_json(many)
            return 0
        for r in many["cancelled"]:
            print(f"{r['number']}\t{r['name']}\tjob {r['job_id']}\t{r['latest_state']}")
        print(many["msg"], file=sys.stderr)
        return 0
    body = client.cancel(RunHandle(args.software, args.key))
    if args.json:
        _print_json(body)
    else:
        report = body["info"]["report"]
        print(f"{report['cr']}\t{report['process'].get('latest_state')}")
    return 0


_COMMANDS = {"login": _login, "logout": _logout, "softwares": _softwares, "run": _run,
             "runs": _runs, "state": _state, "results": _results, "content": _content,
             "cancel": _cancel}
