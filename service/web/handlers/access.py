"""The access relations, as lists of names. They reveal user names, so they need
a token, and a non-admin only sees relations that involve their own user."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from service.accounts.authentication import is_admin
from service.accounts.users import get_user
from service.catalogue import access
from service.core.errors import AccessDenied, NotFound
from service.core.store import Store
from service.web.auth import authenticate
from service.web.formats import render
from service.web.keys import STORE_KEY
from service.web.reading import read_request
from service.web.routing import Handler, Routes

routes = Routes()

Lister = Callable[[Store, str, int | None], list[str]]


async def _caller(request: web.Request) -> tuple[str, bool, int | None, str]:
    """(caller, caller is admin, level asked or None, format)."""
    params, fmt = await read_request(request)
    me = await authenticate(request, params)
    raw_level = request.match_info.get("level")
    level = None if raw_level is None else access.check_level(raw_level)
    return me, is_admin(request.app[STORE_KEY], me), level, fmt


def users_of(lister: Lister, param: str) -> Handler:
    """Users related to a software or container: a non-admin sees at most themself."""
    async def handler(request: web.Request) -> web.StreamResponse:
        me, admin, level, fmt = await _caller(request)
        names = lister(request.app[STORE_KEY], request.match_info[param], level)
        return render(names if admin else [n for n in names if n == me], fmt)
    return handler


def of_user(lister: Lister) -> Handler:
    """Softwares or containers related to a user: a non-admin may only ask about
    themself (and learns nothing about whether another user exists)."""
    async def handler(request: web.Request) -> web.StreamResponse:
        me, admin, level, fmt = await _caller(request)
        store, user = request.app[STORE_KEY], request.match_info["username"]
        if user != me and not admin:
            raise AccessDenied("you may only list your own access relations")
        if get_user(store, user) is None:
            raise NotFound(f"unknown user {user!r}")
        return render(lister(store, user, level), fmt)
    return handler


def _register() -> None:
    for level in ("", "/{level}"):
        routes.get(f"/api/software/{{softwarename}}/access{level}/user/name/list")(
            users_of(access.software_users, "softwarename"))
        routes.get(f"/api/container/{{containername}}/access{level}/user/name/list")(
            users_of(access.container_users, "containername"))
        routes.get(f"/api/user/{{username}}/access{level}/software/name/list")(
            of_user(access.user_softwares))
        routes.get(f"/api/user/{{username}}/access{level}/container/name/list")(
            of_user(access.user_containers))


_register()
