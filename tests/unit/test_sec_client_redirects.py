"""The client's bearer token never reaches another origin: not through a
redirect, and not through a WS_URL naming another service than the token's."""

from __future__ import annotations

import asyncio
import urllib.request
from email.message import Message
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from service.__main__ import main
from service.cli.client_login import Login, load_login, save_login, token_elsewhere
from service.client.http import _SameOriginCredentials, call, origin


async def _server(host: str, handler: Any) -> TestServer:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    server = TestServer(app, host=host)
    await server.start_server()
    return server


async def _seen_by(target_host: str, same_server: bool) -> dict[str, str | None]:
    """The Authorization header a redirected GET brings to where it lands."""
    seen: dict[str, str | None] = {}

    async def landing(request: web.Request) -> web.Response:
        seen["authorization"] = request.headers.get("Authorization")
        return web.json_response({"ok": True})

    async def redirecting(request: web.Request) -> web.Response:
        if request.path == "/landing":
            return await landing(request)
        raise web.HTTPFound(str(target.make_url("/landing")))

    target = await _server(target_host, landing)
    source = await _server("127.0.0.1", redirecting)
    if same_server:
        target = source
    try:
        answer = await asyncio.get_running_loop().run_in_executor(
            None, call, "GET", str(source.make_url("/api/x/")), "secret-token")
        assert answer.json() == {"ok": True}
    finally:
        await source.close()
        await target.close()
    return seen


async def test_no_token_along_a_redirect_to_another_host() -> None:
    assert await _seen_by("127.0.0.2", same_server=False) == {"authorization": None}


async def test_no_token_along_a_redirect_to_another_port() -> None:
    assert await _seen_by("127.0.0.1", same_server=False) == {"authorization": None}


async def test_the_token_follows_a_redirect_within_the_service() -> None:
    seen = await _seen_by("127.0.0.1", same_server=True)
    assert seen == {"authorization": "Bearer secret-token"}


def test_no_token_from_https_to_http() -> None:
    request = urllib.request.Request("https://ws.example.org/api/x/",
                                     headers={"Authorization": "Bearer t"})
    new = _SameOriginCredentials().redirect_request(
        request, BytesIO(), 302, "Found", Message(), "http://ws.example.org/api/x/")
    assert new is not None and not new.has_header("Authorization")


def test_origins() -> None:
    assert origin("http://H:80/api/") == origin("http://h/x") == ("http", "h", 80)
    assert origin("https://h/") == ("https", "h", 443)
    assert origin("https://h/") != origin("http://h:443/")


def test_ws_url_of_another_service_gets_no_token(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    save_login(env, Login("http://ws.example.org:8000", "alice", "tok"))
    same = {**env, "WS_URL": "http://WS.example.org:8000/"}
    assert load_login(same).token == "tok"
    assert token_elsewhere(same) is None
    other = {**env, "WS_URL": "http://evil.example.org:8000"}
    assert load_login(other) == Login("http://evil.example.org:8000")
    hint = token_elsewhere(other)
    assert hint is not None and "ws login --url http://evil.example.org:8000" in hint


async def test_ws_with_another_ws_url_sends_no_token_and_says_to_log_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[str | None] = []

    async def refusing(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        return web.json_response({"error": "no token", "more": [], "type": "unauthorized"},
                                 status=401)

    server = await _server("127.0.0.1", refusing)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("WS_CONFIG", raising=False)
    save_login({"HOME": str(tmp_path)}, Login("http://ws.example.org:8000", "alice", "tok"))
    url = str(server.make_url("")).rstrip("/")
    monkeypatch.setenv("WS_URL", url)
    try:
        code = await asyncio.get_running_loop().run_in_executor(None, main, ["runs"])
    finally:
        await server.close()
    assert code == 2
    assert seen == [None]
    assert f"ws login --url {url}" in capsys.readouterr().err
