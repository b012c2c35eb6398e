"""Nobody can lock a user out by failing logins under that user's name from
another address (loopback addresses 127.0.0.x stand for clients)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from service.accounts import authentication, users
from service.accounts.passwords import hash_password
from service.core.store import Store

from .helpers import PASSWORD


async def _login(client: TestClient[Any, Any], source: str, password: str) -> int:
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with (aiohttp.ClientSession(connector=connector) as session,
                session.post(client.make_url("/api/jwt/obtain"),
                             json={"username": "demo", "password": password}) as resp):
        return resp.status


async def test_failures_elsewhere_do_not_lock_a_user_out(
        client: TestClient[Any, Any], store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # The real Argon2 check would make this test slow; the throttle is what counts.
    monkeypatch.setattr(authentication, "verify_password",
                        lambda stored, password: password == PASSWORD)
    users.add_user(store, "demo", hash_password(PASSWORD))
    statuses = [await _login(client, "127.0.0.2", "wrong") for _ in range(40)]
    assert statuses[0] == 401 and statuses[-1] == 429
    assert await _login(client, "127.0.0.1", PASSWORD) == 200
    assert await _login(client, "127.0.0.2", PASSWORD) == 429  # that address is held back
