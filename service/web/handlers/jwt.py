"""POST /api/jwt/obtain and /api/jwt/verify, and their HTML forms (GET)."""

from __future__ import annotations

from aiohttp import web

from service.accounts.authentication import login
from service.accounts.tokens import issue_token
from service.core.errors import InvalidParameter
from service.web.auth import verified_token
from service.web.formats import render
from service.web.keys import CONFIG_KEY, JWT_SECRET_KEY, LOGIN_THROTTLE_KEY, STORE_KEY
from service.web.reading import read_request
from service.web.routing import Routes

routes = Routes()

# The form posts back to the page's own URL (right behind a proxy prefix too) and
# asks for format=api so a person sees a readable page, not raw JSON.
FORM = """<!doctype html>
<html><head><meta charset="utf-8"><title>ws: {title}</title></head>
<body><h1>{title}</h1>
<form method="post" action="" enctype="application/x-www-form-urlencoded">
{fields}
<input type="hidden" name="format" value="api">
<p><button type="submit">{button}</button></p>
</form></body></html>
"""
OBTAIN_FIELDS = """<p><label>Username <input name="username" autocomplete="username"
 required></label></p>
<p><label>Password <input name="password" type="password"
 autocomplete="current-password" required></label></p>"""
VERIFY_FIELDS = """<p><label>Token <textarea name="jwt" rows="4" cols="80"
 required></textarea></label></p>"""


def _page(title: str, fields: str, button: str) -> web.Response:
    return web.Response(text=FORM.format(title=title, fields=fields, button=button),
                        content_type="text/html")


@routes.get("/api/jwt/obtain")
async def obtain_form(request: web.Request) -> web.Response:
    return _page("Obtain a token", OBTAIN_FIELDS, "Obtain")


@routes.get("/api/jwt/verify")
async def verify_form(request: web.Request) -> web.Response:
    return _page("Verify a token", VERIFY_FIELDS, "Verify")


@routes.post("/api/jwt/obtain")
async def obtain(request: web.Request) -> web.Response:
    params, fmt = await read_request(request)
    username, password = params.text("username"), params.text("password")
    if not username or not password:
        raise InvalidParameter("username and password are required")
    store = request.app[STORE_KEY]
    await request.app[LOGIN_THROTTLE_KEY].attempt(
        username, request.remote or "unknown", lambda: login(store, username, password))
    token = issue_token(request.app[JWT_SECRET_KEY], username,
                        request.app[CONFIG_KEY].auth.jwt_lifetime_s)
    # A token is a credential: no cache may keep the answer (as RFC 6749 asks).
    return render({"jwt": token.jwt, "username": token.username,
                   "expires": token.expires_iso}, fmt, headers={"Cache-Control": "no-store"})


@routes.post("/api/jwt/verify")
async def verify(request: web.Request) -> web.Response:
    params, fmt = await read_request(request)
    token = await verified_token(request, params)
    return render({"valid": True, "username": token.username,
                   "expires": token.expires_iso}, fmt)
