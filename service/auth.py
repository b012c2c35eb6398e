"""Who is calling and what they may do: logins, the caller's token, admin
flag and access level. Hashing, tokens and the level policy live in
service.passwords, service.tokens and service.policy; this module ties them to
the store and the request."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from service import users
from service.access import software_level
from service.catalogue import Software
from service.errors import AuthenticationFailed, NotFound
from service.keys import JWT_SECRET_KEY, STORE_KEY
from service.names import NAME_RE
from service.passwords import DUMMY_HASH as DUMMY_HASH
from service.passwords import HASHER as HASHER
from service.passwords import check_password as check_password
from service.passwords import hash_password as hash_password
from service.passwords import needs_rehash
from service.passwords import verify_password as verify_password
from service.policy import check_run_policy as check_run_policy
from service.store import Store
from service.tokens import OBTAIN_HINT, Token, decode_token
from service.tokens import issue_token as issue_token
from service.web.params import Params


async def login(store: Store, username: str, password: str) -> str:
    """The username if the password is right; the same error (and about the same
    time) for an unknown user and a wrong password."""
    stored = users.password_hash(store, username) if NAME_RE.match(username) else None
    loop = asyncio.get_running_loop()
    ok = await loop.run_in_executor(None, verify_password, stored or DUMMY_HASH, password)
    if stored is None or not ok:
        raise AuthenticationFailed("wrong username or password")
    if needs_rehash(stored):
        new_hash = await loop.run_in_executor(None, hash_password, password)
        # The user may have been removed meanwhile; nothing to update then.
        with contextlib.suppress(NotFound):
            users.set_password_hash(store, username, new_hash, end_sessions=False)
    return username


def token_of(request: web.Request, params: Params) -> str:
    """The token from parameter `jwt` (any encoding), else the Bearer header."""
    value = params.values.get("jwt")
    if value not in (None, ""):
        if not isinstance(value, str):
            raise AuthenticationFailed("the jwt parameter must be a string")
        return value.strip()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    raise AuthenticationFailed("a token is required",
                               ["give it as parameter jwt or as 'Authorization: Bearer "
                                "<token>'", OBTAIN_HINT])


async def verified_token(request: web.Request, params: Params) -> Token:
    token = decode_token(request.app[JWT_SECRET_KEY], token_of(request, params))
    user = users.get_user(request.app[STORE_KEY], token.username)
    # A removed user's tokens die with the account, and do not come back to life
    # if an account of the same name is made again (iat counts whole seconds).
    if user is None or token.issued < int(user.created):
        raise AuthenticationFailed("the token's user no longer exists")
    if token.issued < int(user.tokens_valid_from):
        raise AuthenticationFailed("the token was issued before the password changed",
                                   [OBTAIN_HINT])
    return token


async def authenticate(request: web.Request, params: Params) -> str:
    """The caller's username, from a valid token of an existing user."""
    return (await verified_token(request, params)).username


def is_admin(store: Store, user: str) -> bool:
    found = users.get_user(store, user)
    return found is not None and found.is_admin


def access_level(store: Store, user: str, software: Software) -> int | None:
    """The highest of the user's grants on the software and on its container."""
    return software_level(store, user, software.name, software.container.name)
