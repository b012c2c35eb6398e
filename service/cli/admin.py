"""`ws admin ...`: the cluster admin's commands, parsed and run (what each does:
service.cli.admin_commands)."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Callable
from typing import TypeAlias

from service.catalogue import access
from service.catalogue import softwares as catalogue
from service.cli.admin_commands import (
    access_grant,
    access_list,
    access_revoke,
    container_add,
    container_list,
    container_remove,
    container_update,
    runs_reindex,
    software_add,
    software_list,
    software_remove,
    software_update,
    user_add,
    user_admin,
    user_list,
    user_passwd,
    user_remove,
    user_unix,
)
from service.core.config import Config
from service.core.errors import WsError
from service.core.store import Store

Command = Callable[[argparse.Namespace, Config, Store], None]
# Subscripted only for mypy: the class is not generic at run time.
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


# ---- parser --------------------------------------------------------------------------------

def _command(group: SubParsers, name: str, command: Command, summary: str,
             listing: bool = False) -> argparse.ArgumentParser:
    parser = group.add_parser(name, help=summary)
    parser.set_defaults(admin_command=command)
    if listing:
        parser.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _user_parsers(what: SubParsers) -> None:
    group = what.add_parser("user", help="service accounts").add_subparsers(
        dest="action", required=True)
    add = _command(group, "add", user_add, "add a user (password: first line of stdin)")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="may use the admin API")
    add.add_argument("--unix", metavar="UNIXNAME",
                     help='the Unix user their runs execute as ([identity] mode = "unix")')
    _command(group, "remove", user_remove, "remove a user and their grants").add_argument(
        "name")
    _command(group, "passwd", user_passwd, "set a password (first line of stdin)") \
        .add_argument("name")
    admin = _command(group, "admin", user_admin, "make a user an admin or not")
    admin.add_argument("name")
    admin.add_argument("flag", choices=("yes", "no"))
    unix = _command(group, "unix", user_unix,
                    "map a user to the Unix user their runs execute as, or unmap (--none)")
    unix.add_argument("name")
    target = unix.add_mutually_exclusive_group(required=True)
    target.add_argument("unix_name", nargs="?", metavar="UNIXNAME")
    target.add_argument("--none", action="store_true", help="remove the mapping")
    _command(group, "list", user_list, "list users: NAME IS_ADMIN [UNIXNAME]",
             listing=True)


def _container_parsers(what: SubParsers) -> None:
    group = what.add_parser("container", help="containers").add_subparsers(
        dest="action", required=True)
    for name, command, new in (("add", container_add, True),
                               ("update", container_update, False)):
        p = _command(group, name, command, f"{name} a container")
        p.add_argument("name")
        p.add_argument("--type", choices=catalogue.CONTAINER_TYPES, required=new)
        p.add_argument("--image", required=new,
                       help="the SIF runs use (built from --archive for type docker)")
        p.add_argument("--archive", help="docker-type: the `docker save` archive to build "
                                         "the SIF from")
        p.add_argument("--rebuild", action="store_true",
                       help="build the SIF even if it exists")
        p.add_argument("--desc", default="" if new else None)
    _command(group, "remove", container_remove, "remove an unused container").add_argument(
        "name")
    _command(group, "list", container_list, "list containers: NAME TYPE IMAGE DESC",
             listing=True)


def _software_parsers(what: SubParsers) -> None:
    group = what.add_parser("software", help="softwares").add_subparsers(
        dest="action", required=True)
    for name, command, new in (("add", software_add, True),
                               ("update", software_update, False)):
        p = _command(group, name, command, f"{name} a software")
        p.add_argument("name")
        p.add_argument("--container", required=new)
        p.add_argument("--desc")
        p.add_argument("--shortname")
        p.add_argument("--url", action="append", metavar="KEY=URL",
                       help="repeatable" + ("" if new else "; replaces all urls"))
        p.add_argument("--keyword", action="append",
                       help="repeatable" + ("" if new else "; replaces all keywords"))
        if not new:
            p.add_argument("--clear-urls", action="store_true")
            p.add_argument("--clear-keywords", action="store_true")
    _command(group, "remove", software_remove, "remove a software").add_argument("name")
    _command(group, "list", software_list, "list softwares: NAME CONTAINER SHORTNAME DESC",
             listing=True)


def _access_parsers(what: SubParsers) -> None:
    group = what.add_parser("access", help="access grants").add_subparsers(
        dest="action", required=True)
    for name, command in (("grant", access_grant), ("revoke", access_revoke)):
        p = _command(group, name, command, f"{name} access to a software or container")
        p.add_argument("user")
        target = p.add_mutually_exclusive_group(required=True)
        target.add_argument("--software")
        target.add_argument("--container")
        if name == "grant":
            p.add_argument("--level", required=True,
                           help=", ".join(f"{n} {v}" for n, v in access.LEVELS.items()))
    listing = _command(group, "list", access_list, "list grants: USER KIND TARGET LEVEL",
                       listing=True)
    listing.add_argument("--user")


def add_parser(sub: SubParsers) -> None:
    admin = sub.add_parser("admin", help="manage users, softwares, containers and access")
    what = admin.add_subparsers(dest="admin_what", required=True)
    _user_parsers(what)
    _container_parsers(what)
    _software_parsers(what)
    _access_parsers(what)
    _command(what, "reindex", runs_reindex,
             "rebuild the run index from the run folders (their request.json and "
             "state.json are the record of truth)")


def run(args: argparse.Namespace, config: Config) -> int:
    try:
        store = Store(config.database)
    except (OSError, sqlite3.Error) as e:
        print(f"ws: cannot open the database {config.database}: {e}", file=sys.stderr)
        return 2
    try:
        args.admin_command(args, config, store)
    except WsError as e:
        print(f"ws: {e.message}", file=sys.stderr)
        for line in e.more:
            print(f"ws:   {line}", file=sys.stderr)
        return 2
    finally:
        store.close()
    return 0
