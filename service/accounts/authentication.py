"""Who is calling: a login checks a password, a token names a live user. The
web layer finds the password or token in the request and calls these."""

from __future__ import annotations

import asyncio
import contextlib

from service.accounts import users
from service.accounts.passwords import DUMMY_HASH, hash_password, needs_rehash, verify_password
from service.accounts.tokens import OBTAIN_HINT, Token, decode_token
from service.core.errors import AuthenticationFailed, NotFound
from service.core.names import is_name
from service.core.store import Store


async def login(store: Store, username: str, password: str) -> str:
    """The username if the password is right; the same error (and about the same
    time) for an unknown user and a wrong password."""
    stored = users.password_hash(store, username) if is_name(username) else None
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


def verify_token(store: Store, secret: str, raw_token: str) -> Token:
    """A valid token of a user who still exists, issued after their last password change."""
    token = decode_token(secret, raw_token)
    user = users.get_user(store, token.username)
    # A removed user's tokens die with the account, and do not come back to life
    # if an account of the same name is made again (iat counts whole seconds).
    if user is None or token.issued < int(user.created):
        raise AuthenticationFailed("the token's user no longer exists")
    if token.issued < int(user.tokens_valid_from):
        raise AuthenticationFailed("the token was issued before the password changed",
                                   [OBTAIN_HINT])
    return token


def is_admin(store: Store, user: str) -> bool:
    found = users.get_user(store, user)
    return found is not None and found.is_admin
