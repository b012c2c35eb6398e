"""Every HTML answer carries a Content-Security-Policy (no foreign or inline
script, never framed) and nosniff; the admin page holds no token and needs none
in its URL."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from service.core.store import Store

from .helpers import token_for

BROWSER = {"Accept": "text/html,application/xhtml+xml"}


def _assert_protected(headers: Any, what: str) -> None:
    policy = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in policy, what
    assert "default-src 'self'" in policy and "unsafe-inline" not in policy, what
    assert headers.get("X-Content-Type-Options") == "nosniff", what


async def test_every_html_answer_is_protected(client: TestClient[Any, Any],
                                              catalogue_data: Store) -> None:
    token = await token_for(client, "alice")
    bearer = {"Authorization": f"Bearer {token}"}
    answers = {
        "obtain form": await client.get("/api/jwt/obtain"),
        "verify form": await client.get("/api/jwt/verify"),
        "obtain format=api": await client.post("/api/jwt/obtain", data={
            "username": "alice", "password": "wrong", "format": "api"}),
        "verify format=api": await client.post("/api/jwt/verify", data={
            "jwt": token, "format": "api"}),
        "catalogue format=api": await client.get("/api/software/list",
                                                 params={"format": "api"}),
        "404 format=api": await client.get("/api/nothing", params={"format": "api"}),
        "admin page, signed out": await client.get("/api/admin", headers=BROWSER),
        "admin page, signed in": await client.get("/api/admin", headers={**BROWSER, **bearer}),
        "admin format=api": await client.get("/api/admin", params={"format": "api"},
                                             headers=bearer),
        "index": await client.get("/"),
        "docs": await client.get("/api/docs"),
    }
    for what, resp in answers.items():
        assert resp.content_type == "text/html", what
        _assert_protected(resp.headers, what)
    json_answer = await client.get("/api/software/list")
    assert json_answer.headers["X-Content-Type-Options"] == "nosniff"


async def test_the_admin_page_signs_in_by_itself(client: TestClient[Any, Any],
                                                 catalogue_data: Store) -> None:
    resp = await client.get("/api/admin", headers=BROWSER)
    assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
    page = await resp.text()
    assert "id='sign-in'" in page and "<script src='/static/admin.js'>" in page
    assert "carol" not in page  # no data before signing in
    assert "action='/api/admin/user/add'" in page
    script = await client.get("/static/admin.js")
    assert script.status == 200
    code = await script.text()
    assert "sessionStorage" in code and "Authorization" in code


async def test_the_admin_page_holds_no_token(client: TestClient[Any, Any],
                                             catalogue_data: Store) -> None:
    token = await token_for(client, "alice")
    resp = await client.get("/api/admin", headers={**BROWSER,
                                                   "Authorization": f"Bearer {token}"})
    page = await resp.text()
    assert "<td>carol</td>" in page
    assert token not in page and "name='jwt'" not in page


async def test_a_non_admin_token_still_gets_no_overview(client: TestClient[Any, Any],
                                                        catalogue_data: Store) -> None:
    token = await token_for(client, "carol")
    resp = await client.get("/api/admin", headers={**BROWSER,
                                                   "Authorization": f"Bearer {token}"})
    assert resp.status == 403
