"""`ws admin ...`: the cluster admin's commands.

Every command is one call into the same modules the admin web API uses
(users, catalogue, access, images), so both enforce the same rules."""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sqlite3
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeAlias

from service import access, catalogue, users
from service.config import Config
from service.errors import Conflict, InvalidParameter, NotFound, WsError
from service.images import build_sif
from service.names import check_name
from service.passwords import check_password, hash_password
from service.store import Store

Command = Callable[[argparse.Namespace, Config, Store], None]
# Subscripted only for mypy: the class is not generic at run time.
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


# ---- output --------------------------------------------------------------------------------

def _field(value: object) -> str:
    # One record per line, fields split by tabs: neither may appear in a field.
    text = "yes" if value is True else "no" if value is False else str(value)
    return re.sub(r"[\t\r\n]+", " ", text)


def _print_rows(args: argparse.Namespace, rows: Sequence[Mapping[str, object]]) -> None:
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        print("\t".join(_field(v) for v in row.values()))


def _read_password(name: str) -> str:
    if sys.stdin.isatty():
        first = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("again: ") != first:
            raise InvalidParameter("the two passwords differ")
        return check_password(first)
    return check_password(sys.stdin.readline().rstrip("\r\n"))


# ---- users ---------------------------------------------------------------------------------

def user_add(args: argparse.Namespace, config: Config, store: Store) -> None:
    name = check_name("user", args.name)
    if users.get_user(store, name) is not None:
        raise Conflict(f"user {name!r} exists already")
    users.add_user(store, name, hash_password(_read_password(name)), args.admin)
    print(f"added user {name}" + (" (admin)" if args.admin else ""))


def user_remove(args: argparse.Namespace, config: Config, store: Store) -> None:
    users.remove_user(store, args.name)
    print(f"removed user {args.name}")


def user_passwd(args: argparse.Namespace, config: Config, store: Store) -> None:
    if users.get_user(store, args.name) is None:
        raise NotFound(f"unknown user {args.name!r}")
    users.set_password_hash(store, args.name, hash_password(_read_password(args.name)))
    print(f"changed the password of {args.name}")


def user_admin(args: argparse.Namespace, config: Config, store: Store) -> None:
    users.set_admin(store, args.name, args.flag == "yes")
    print(f"{args.name} is {'now' if args.flag == 'yes' else 'no longer'} an admin")


def user_list(args: argparse.Namespace, config: Config, store: Store) -> None:
    _print_rows(args, [u.as_dict() for u in users.list_users(store)])


# ---- containers ----------------------------------------------------------------------------

def _image(args: argparse.Namespace, config: Config, kind: str | None) -> Path | None:
    """The image path, built first from --archive for a docker-type container."""
    if args.image is None:
        if args.archive is not None:
            raise InvalidParameter("--archive needs --image (where the SIF goes)")
        return None
    image = Path(args.image).resolve()
    if args.archive is not None:
        if kind != "docker":
            raise InvalidParameter("--archive is for docker-type containers")
        if build_sif(config.apptainer, Path(args.archive), image, args.rebuild):
            print(f"built {image}")
        else:
            print(f"kept existing {image} (--rebuild builds it again)")
    return image


def container_add(args: argparse.Namespace, config: Config, store: Store) -> None:
    name = check_name("container", args.name)
    if any(c.name == name for c in catalogue.list_containers(store)):
        raise Conflict(f"container {name!r} exists already")
    image = _image(args, config, args.type)
    assert image is not None  # --image is required here
    catalogue.add_container(store, name, args.type, image, args.desc)
    print(f"added container {name}")


def container_update(args: argparse.Namespace, config: Config, store: Store) -> None:
    kind = args.type or catalogue.get_container(store, args.name).type
    catalogue.update_container(store, args.name, args.type, _image(args, config, kind),
                               args.desc)
    print(f"updated container {args.name}")


def container_remove(args: argparse.Namespace, config: Config, store: Store) -> None:
    catalogue.remove_container(store, args.name)
    print(f"removed container {args.name}")


def container_list(args: argparse.Namespace, config: Config, store: Store) -> None:
    _print_rows(args, [c.as_info() for c in catalogue.list_containers(store)])


# ---- softwares -----------------------------------------------------------------------------

def _urls(args: argparse.Namespace) -> dict[str, str] | None:
    if args.url is None:
        return {} if getattr(args, "clear_urls", False) else None
    urls: dict[str, str] = {}
    for item in args.url:
        key, eq, url = item.partition("=")
        if not eq:
            raise InvalidParameter(f"bad --url {item!r}", ["expected KEY=URL"])
        urls[key] = url
    return urls


def _keywords(args: argparse.Namespace) -> list[str] | None:
    if args.keyword is None:
        return [] if getattr(args, "clear_keywords", False) else None
    return list(args.keyword)


def software_add(args: argparse.Namespace, config: Config, store: Store) -> None:
    catalogue.add_software(store, args.name, args.container, args.desc or "",
                           args.shortname or "", _urls(args), _keywords(args) or [])
    print(f"added software {args.name}")


def software_update(args: argparse.Namespace, config: Config, store: Store) -> None:
    catalogue.update_software(store, args.name, args.container, args.desc, args.shortname,
                              _urls(args), _keywords(args))
    print(f"updated software {args.name}")


def software_remove(args: argparse.Namespace, config: Config, store: Store) -> None:
    catalogue.remove_software(store, args.name)
    print(f"removed software {args.name}")


def software_list(args: argparse.Namespace, config: Config, store: Store) -> None:
    _print_rows(args, [
        {"name": s.name, "container": s.container.name, "shortname": s.shortname,
         "desc": s.description, "urls": s.urls, "keywords": s.keywords}
        if args.json else
        {"name": s.name, "container": s.container.name, "shortname": s.shortname,
         "desc": s.description}
        for s in catalogue.list_softwares(store)])


# ---- access --------------------------------------------------------------------------------

def access_grant(args: argparse.Namespace, config: Config, store: Store) -> None:
    g = access.grant(store, args.user, access.check_level(args.level), args.software,
                     args.container)
    print(f"granted {access.LEVELS[g.level]} ({g.level}) on {g.kind} {g.target} to {g.user}")


def access_revoke(args: argparse.Namespace, config: Config, store: Store) -> None:
    access.revoke(store, args.user, args.software, args.container)
    target = args.software or args.container
    print(f"revoked the access of {args.user} to {target}")


def access_list(args: argparse.Namespace, config: Config, store: Store) -> None:
    _print_rows(args, [
        {"user": g.user, "kind": g.kind, "target": g.target, "level": g.level}
        for g in access.list_grants(store, args.user)])


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
    _command(group, "remove", user_remove, "remove a user and their grants").add_argument(
        "name")
    _command(group, "passwd", user_passwd, "set a password (first line of stdin)") \
        .add_argument("name")
    admin = _command(group, "admin", user_admin, "make a user an admin or not")
    admin.add_argument("name")
    admin.add_argument("flag", choices=("yes", "no"))
    _command(group, "list", user_list, "list users: NAME IS_ADMIN", listing=True)


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
