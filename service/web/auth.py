"""The caller's token in a request: parameter `jwt` (any encoding) or the
Bearer header. Checking it is service.accounts.authentication's job."""

from __future__ import annotations

from aiohttp import web

from service.accounts.authentication import verify_token
from service.accounts.tokens import OBTAIN_HINT, Token
from service.core.errors import AuthenticationFailed
from service.core.params import Params
from service.web.keys import JWT_SECRET_KEY, STORE_KEY


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
    return verify_token(request.app[STORE_KEY], request.app[JWT_SECRET_KEY],
                        token_of(request, params))


async def authenticate(request: web.Request, params: Params) -> str:
    """The caller's username, from a valid token of an existing user."""
    return (await verified_token(request, params)).username
