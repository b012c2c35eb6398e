"""What each `ws admin` command does (service.cli.admin builds the parser).

Every command is one call into the same modules the admin web API uses
(users, catalogue, access, images), so both enforce the same rules."""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from service.accounts import users
from service.accounts.passwords import check_password, hash_password
from service.accounts.unix_users import check_unix_user
from service.catalogue import access
from service.catalogue import softwares as catalogue
from service.catalogue.images import build_sif
from service.cluster.unix_mode import placement_for
from service.core.config import Config
from service.core.errors import Conflict, InvalidParameter, NotFound
from service.core.names import check_name
from service.core.store import Store
from service.runs.ledger import Ledger
from service.runs.placement import UnixPlacement

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
    unix = None if args.unix is None else check_unix_user(args.unix, config.identity.group)
    users.add_user(store, name, hash_password(_read_password(name)), args.admin, unix)
    print(f"added user {name}" + (" (admin)" if args.admin else "")
          + (f", Unix user {unix}" if unix else ""))


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


def user_unix(args: argparse.Namespace, config: Config, store: Store) -> None:
    unix = None if args.none else check_unix_user(args.unix_name, config.identity.group)
    users.set_unix_user(store, args.name, unix)
    print(f"{args.name} runs as Unix user {unix}" if unix else
          f"{args.name} is mapped to no Unix user")


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


# ---- runs ----------------------------------------------------------------------------------

def runs_reindex(args: argparse.Namespace, config: Config, store: Store) -> None:
    # The runs of the configured identity mode, where its placement keeps them.
    placement = placement_for(config, store)
    ledger = Ledger(store, config.runs_dir, placement=placement)
    try:
        count = ledger.reindex()
    finally:
        ledger.close()
    if isinstance(placement, UnixPlacement):
        print(f"indexed {count} runs from {placement.meta_dir} (their run folders in "
              f"{placement.runs_dir})")
    else:
        print(f"indexed {count} runs from {config.runs_dir}")
