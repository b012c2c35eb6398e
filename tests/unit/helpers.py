"""Helpers shared by the unit tests."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

PASSWORD = "correct horse battery"


async def token_for(client: TestClient[Any, Any], username: str,
                    password: str = PASSWORD) -> str:
    resp = await client.post("/api/jwt/obtain", json={"username": username,
                                                      "password": password})
    assert resp.status == 200, await resp.text()
    token: str = (await resp.json())["jwt"]
    return token


def assert_error_shape(body: dict[str, Any], error_type: str) -> None:
    assert set(body) == {"error", "more", "type"}
    assert body["type"] == error_type
    assert isinstance(body["error"], str) and isinstance(body["more"], list)
