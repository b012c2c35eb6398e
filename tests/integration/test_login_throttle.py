"""Login throttling against the live service: failures per user name from one
client address and per address (loopback addresses 127.0.0.x stand for
clients), 429 with Retry-After; a name's failures never lock it out elsewhere."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlparse

import pytest

from tests.live import PASSWORD, LiveService

pytestmark = pytest.mark.cluster


def login(service: LiveService, source: str, username: str,
          password: str = "wrong") -> tuple[int, dict[str, str], dict[str, Any]]:
    url = urlparse(service.url)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=60,
                                      source_address=(source, 0))
    try:
        conn.request("POST", "/api/jwt/obtain/",
                     body=urlencode({"username": username, "password": password}),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), json.loads(r.read())
    finally:
        conn.close()


def test_login_is_throttled_per_name_and_per_address(
        service_factory: Callable[..., LiveService]) -> None:
    live = service_factory(auth={"login_burst": 3, "login_per_minute": 2})
    # One name from many addresses: the name is not locked out elsewhere.
    for i in range(3):
        assert login(live, f"127.0.0.{10 + i}", "alice")[0] == 401
    assert login(live, "127.0.0.20", "alice", PASSWORD.format("alice"))[0] == 200
    # One name from one address: that address runs out for the name.
    for _ in range(3):
        assert login(live, "127.0.0.21", "alice")[0] == 401
    status, headers, body = login(live, "127.0.0.21", "alice", PASSWORD.format("alice"))
    assert status == 429, body
    assert set(body) == {"error", "more", "type"} and body["type"] == "too_many_attempts"
    assert 1 <= int(headers["Retry-After"]) <= 30
    # Other names, one address: the address runs out.
    for name in ("n1", "n2", "n3"):
        assert login(live, "127.0.0.30", name)[0] == 401
    assert login(live, "127.0.0.30", "vic", PASSWORD.format("vic"))[0] == 429
    # Another address and another name are served as usual.
    status, _, body = login(live, "127.0.0.31", "vic", PASSWORD.format("vic"))
    assert status == 200 and body["jwt"], body
