"""GET /api/admin (overview, HTML or data) and the admin JSON API: the same
operations as `ws admin`, for admin users only. In the update operations an
absent or empty field means "unchanged"."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from service.accounts import users
from service.accounts.authentication import is_admin
from service.accounts.passwords import check_password, hash_password
from service.accounts.unix_users import check_unix_user
from service.catalogue import access
from service.catalogue import softwares as catalogue
from service.core.errors import (
    AccessDenied,
    AuthenticationFailed,
    Conflict,
    InvalidParameter,
    NotFound,
)
from service.core.names import check_name
from service.core.params import Params
from service.core.store import Store
from service.runs.parameters import NO, YES
from service.web.admin_page import admin_page
from service.web.auth import authenticate, token_of
from service.web.formats import render
from service.web.keys import CONFIG_KEY, STORE_KEY
from service.web.reading import read_request
from service.web.routing import Routes

routes = Routes()
NO_STORE = {"Cache-Control": "no-store"}


async def _admin_request(request: web.Request) -> tuple[Params, str, Store]:
    params, fmt = await read_request(request)
    return params, fmt, await _admins_store(request, params)


async def _admins_store(request: web.Request, params: Params) -> Store:
    """The store, if the caller is an administrator."""
    me = await authenticate(request, params)
    store = request.app[STORE_KEY]
    if not is_admin(store, me):
        raise AccessDenied("this is for administrators only")
    return store


# ---- parameters ------------------------------------------------------------------------

def _required(params: Params, name: str) -> str:
    value = params.text(name)
    if not value:
        raise InvalidParameter(f"parameter {name!r} is required")
    return value


def _optional(params: Params, name: str) -> str | None:
    return params.text(name) or None


def _flag(params: Params, name: str) -> bool | None:
    value = params.text(name).lower()
    if value not in YES + NO:
        raise InvalidParameter(f"bad {name} {value!r}", ["allowed: yes, no"])
    return None if value == "" else value in YES


def _json(params: Params, name: str, kind: type[Any]) -> Any:
    return params.json_value(name, (kind,), f"a JSON {'object' if kind is dict else 'list'}")


# `unix=-` unmaps (no Unix name starts with "-"); absent or empty: unchanged.
UNMAP = "-"


async def _unix_user(request: web.Request, params: Params) -> str | None:
    """The `unix` parameter: a checked Unix user name, UNMAP, or None (absent)."""
    value = params.text("unix")
    if not value or value == UNMAP:
        return value or None
    group = request.app[CONFIG_KEY].identity.group
    # The password database may be a directory service: off the event loop.
    return await asyncio.to_thread(check_unix_user, value, group)


async def _hash(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(
        None, hash_password, check_password(password))


def _overview(store: Store) -> dict[str, list[dict[str, object]]]:
    return {
        "users": [u.as_dict() for u in users.list_users(store)],
        "containers": [dict(c.as_info()) for c in catalogue.list_containers(store)],
        "softwares": [{"name": s.name, "container": s.container.name, **s.sw_info()}
                      for s in catalogue.list_softwares(store)],
        "access": [{"user": g.user, "kind": g.kind, "target": g.target, "level": g.level}
                   for g in access.list_grants(store)],
    }


# ---- the overview ----------------------------------------------------------------------

def _carries_token(request: web.Request, params: Params) -> bool:
    try:
        token_of(request, params)
    except AuthenticationFailed:
        return False
    return True


@routes.get("/api/admin")
async def overview(request: web.Request) -> web.Response:
    params, fmt = await read_request(request)
    browser = "format" not in params.values and "text/html" in request.headers.get(
        "Accept", "")
    base = request.path.rstrip("/")
    if (fmt == "api" or browser) and not _carries_token(request, params):
        # A browser opening the page: it signs in by itself (the token never in
        # its URL) and fetches the overview with the token in a header.
        return web.Response(text=admin_page(None, base), content_type="text/html",
                            headers=NO_STORE)
    store = await _admins_store(request, params)
    if fmt == "api" or browser:
        # The page holds the user list: no cache may keep it.
        return web.Response(text=admin_page(_overview(store), base),
                            content_type="text/html", headers=NO_STORE)
    return render(_overview(store), fmt, headers=NO_STORE)


# ---- users -----------------------------------------------------------------------------

@routes.post("/api/admin/user/add")
async def user_add(request: web.Request) -> web.Response:
    params, fmt, store = await _admin_request(request)
    name = check_name("user", _required(params, "name"))
    if users.get_user(store, name) is not None:
        raise Conflict(f"user {name!r} exists already")
    unix = await _unix_user(request, params)
    password_hash = await _hash(_required(params, "password"))
    user = users.add_user(store, name, password_hash, bool(_flag(params, "admin")),
                          None if unix == UNMAP else unix)
    return render({"msg": f"added user {name}", "user": user.as_dict()}, fmt)


@routes.post("/api/admin/user/remove")
async def user_remove(request: web.Request) -> web.Response:
    params, fmt, store = await _admin_request(request)
    name = _required(params, "name")
    users.remove_user(store, name)
    return render({"msg": f"removed user {name}"}, fmt)


@routes.post("/api/admin/user/password")
async def user_password(request: web.Request) -> web.Response:
    params, fmt, store = await _admin_request(request)
    name = _required(params, "name")
    if users.get_user(store, name) is None:
        raise NotFound(f"unknown user {name!r}")
    users.set_password_hash(store, name, await _hash(_required(params, "password")))
    return render({"msg": f"changed the password of {name}"}, fmt)


@routes.post("/api/admin/user/update")
async def user_update(request: web.Request) -> web.Response:
    params, fmt, store = await _admin_request(request)
    name = _required(params, "name")
    flag = _flag(params, "admin")
    unix = await _unix_user(request, params)
    if users.get_user(store, name) is None:
        raise NotFound(f"unknown user {name!r}")
    if unix is not None:
        users.set_unix_user(store, name, None if unix == UNMAP else unix)
    if flag is not None:
        users.set_admin(store, name, flag)
    user = users.get_user(store, name)
    if user is None:
        raise NotFound(f"unknown user {name!r}")
    return render({"msg": f"updated user {name}", "user": user.as_dict()}, fmt)


# ---- containers ------------------------------------------------------------------------
# Images are not built here: building takes minutes and runs apptainer, so it is
# the cluster admin's job (`ws admin container add --archive`).

@routes.post("/api/admin/container/add")
async def container_add(request: web.Request) -> web.Response:
    params, fmt, store = await _admin_request(request)
    c = catalogue.add_container(store, _required(params, "name"), _required(params, "type"),
                                _required(params, "image"), params.text("desc"))
    return render({"msg": f"added container {c.name}", "container": c.as_info()}, fmt)


@routes.post("/api/admin/container/update")
async def container_update(request: web.Request) -> web.Response:
    params, fmt, store = await _admin_request(request)
    c = catalogue.update_container(store, _required(params, "name"),
                                   _optional(params, "type"), _optional(params, "image"),
                                   _optional(params, "desc"))
    return render({"msg": f"updated container {c.name}", "container": c.as_info()}, fmt)


@routes.post("/api/admin/container/remove")
async def container_remove(request: web.Request) -> web.Response:
    params, fmt, store = await _admin_request(request)
    name = _required(params, "name")
    catalogue.remove_container(store, name)
    return render({"msg": f"removed container {name}"}, fmt)


# ---- softwares -------------------------------------------------------------------------

def _software_dict(s: catalogue.Software) -> dict[str, object]:
    return {"name": s.name, "container": s.container.name, **s.sw_info()}


@routes.post("/api/admin/software/add")
async def software_add(request: web.Request) -> web.Response:
    params, fmt, store = await _admin_request(request)
    s = catalogue.add_software(store, _required(params, "name"),
                               _required(params, "container"), params.text("desc"),
                               params.text("shortname"), _json(params, "urls", dict),
                               _json(params, "keywords", list) or [])
    return render({"msg": f"added software {s.name}", "software": _software_dict(s)}, fmt)


@routes.post("/api/admin/software/update")
async def software_update(request: web.Request) -> web.Response:
    params, fmt, store = await _admin_request(request)
    s = catalogue.update_software(store, _required(params, "name"),
                                  _optional(params, "container"), _optional(params, "desc"),
                                  _optional(params, "shortname"), _json(params, "urls", dict),
                                  _json(params, "keywords", list))
    return render({"msg": f"updated software {s.name}", "software": _software_dict(s)}, fmt)


@routes.post("/api/admin/software/remove")
async def software_remove(request: web.Request) -> web.Response:
    params, fmt, store = await _admin_request(request)
    name = _required(params, "name")
    catalogue.remove_software(store, name)
    return render({"msg": f"removed software {name}"}, fmt)


# ---- access ----------------------------------------------------------------------------

@routes.post("/api/admin/access/grant")
async def access_grant(request: web.Request) -> web.Response:
    params, fmt, store = await _admin_request(request)
    g = access.grant(store, _required(params, "user"),
                     access.check_level(params.values.get("level")),
                     _optional(params, "software"), _optional(params, "container"))
    return render({"msg": f"granted {access.LEVELS[g.level]} on {g.kind} {g.target} to "
                          f"{g.user}", "grant": g.as_dict()}, fmt)


@routes.post("/api/admin/access/revoke")
async def access_revoke(request: web.Request) -> web.Response:
    params, fmt, store = await _admin_request(request)
    user = _required(params, "user")
    software, container = _optional(params, "software"), _optional(params, "container")
    access.revoke(store, user, software, container)
    return render({"msg": f"revoked the access of {user} to {software or container}"}, fmt)
