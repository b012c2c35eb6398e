"""Passwords, tokens and their rejections, through the real app."""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp.test_utils import TestClient

from service.accounts import authentication, passwords, tokens, users
from service.core.errors import AuthenticationFailed, InvalidParameter
from service.core.store import Store
from service.web.keys import JWT_SECRET_KEY

from .helpers import PASSWORD, assert_error_shape, token_for


async def test_obtain_gives_a_token_with_expiry(client: TestClient[Any, Any],
                                                catalogue_data: Store) -> None:
    before = int(time.time())
    resp = await client.post("/api/jwt/obtain", json={"username": "bob",
                                                      "password": PASSWORD})
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    body = await resp.json()
    assert set(body) == {"jwt", "username", "expires"}
    assert body["username"] == "bob"
    assert body["expires"].endswith("Z")
    expires = datetime.strptime(body["expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before + 3600 <= expires.timestamp() <= time.time() + 3600
    claims = jwt.decode(body["jwt"], client.app[JWT_SECRET_KEY], algorithms=["HS256"])
    assert claims["sub"] == "bob" and claims["exp"] - claims["iat"] == 3600
    assert jwt.get_unverified_header(body["jwt"])["alg"] == "HS256"


@pytest.mark.parametrize("encoding", ["json", "form", "multipart", "query"])
async def test_obtain_takes_every_encoding(client: TestClient[Any, Any],
                                           catalogue_data: Store, encoding: str) -> None:
    values = {"username": "bob", "password": PASSWORD}
    if encoding == "json":
        resp = await client.post("/api/jwt/obtain", json=values)
    elif encoding == "form":
        resp = await client.post("/api/jwt/obtain", data=values)
    elif encoding == "multipart":
        with aiohttp.MultipartWriter("form-data") as mp:
            for k, v in values.items():
                mp.append(v).set_content_disposition("form-data", name=k)
        resp = await client.post("/api/jwt/obtain", data=mp)
    else:
        resp = await client.post("/api/jwt/obtain", params=values)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["username"] == "bob"


async def test_obtain_trailing_slash_and_formats(client: TestClient[Any, Any],
                                                 catalogue_data: Store) -> None:
    resp = await client.post("/api/jwt/obtain/", data={"username": "bob",
                                                       "password": PASSWORD,
                                                       "format": "yaml"})
    assert resp.status == 200
    assert "username: bob" in await resp.text()


async def test_verify_a_good_token_every_way(client: TestClient[Any, Any],
                                             catalogue_data: Store) -> None:
    token = await token_for(client, "bob")
    for kwargs in ({"json": {"jwt": token}}, {"data": {"jwt": token}},
                   {"params": {"jwt": token}},
                   {"headers": {"Authorization": f"Bearer {token}"}}):
        resp = await client.post("/api/jwt/verify", **kwargs)  # type: ignore[arg-type]
        assert resp.status == 200, kwargs
        body = await resp.json()
        assert body["valid"] is True and body["username"] == "bob"
        assert body["expires"].endswith("Z")


async def test_html_forms(client: TestClient[Any, Any]) -> None:
    for path in ("/api/jwt/obtain", "/api/jwt/verify/"):
        resp = await client.get(path)
        assert resp.status == 200
        assert resp.content_type == "text/html"
        page = await resp.text()
        assert "<form method=\"post\"" in page and "x-www-form-urlencoded" in page


async def test_form_post_answers_readable_page(client: TestClient[Any, Any],
                                               catalogue_data: Store) -> None:
    resp = await client.post("/api/jwt/obtain", data={"username": "bob",
                                                      "password": PASSWORD,
                                                      "format": "api"})
    assert resp.status == 200 and resp.content_type == "text/html"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _bad_tokens(secret: str) -> dict[str, str]:
    now = int(time.time())
    good = jwt.encode({"sub": "bob", "iat": now, "exp": now + 600}, secret, algorithm="HS256")
    header, _, signature = good.split(".")
    return {
        "malformed": "not-a-token",
        "wrong signature": jwt.encode({"sub": "bob", "iat": now, "exp": now + 600},
                                      "another secret of enough length, 32+ bytes",
                                      algorithm="HS256"),
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}."
                    f"{_b64({'sub': 'bob', 'iat': now, 'exp': now + 600})}.",
        "expired": tokens.issue_token(secret, "bob", 60, now=now - 3600).jwt,
        "tampered payload": f"{header}.{_b64({'sub': 'alice', 'iat': now, 'exp': now + 600})}"
                            f".{signature}",
        "no exp": jwt.encode({"sub": "bob", "iat": now}, secret, algorithm="HS256"),
        "no sub": jwt.encode({"iat": now, "exp": now + 600}, secret, algorithm="HS256"),
        "unknown user": tokens.issue_token(secret, "nobody", 600).jwt,
    }


@pytest.mark.parametrize("case", ["malformed", "wrong signature", "alg none", "expired",
                                  "tampered payload", "no exp", "no sub", "unknown user"])
async def test_bad_tokens_are_refused(client: TestClient[Any, Any], catalogue_data: Store,
                                      case: str) -> None:
    token = _bad_tokens(client.app[JWT_SECRET_KEY])[case]
    for path in ("/api/jwt/verify", "/api/admin"):
        method = client.post if path.endswith("verify") else client.get
        resp = await method(path, params={"jwt": token})
        assert resp.status == 401, (case, path)
        assert_error_shape(await resp.json(), "unauthorized")
    resp = await client.get("/api/user/bob/access/software/name/list",
                            headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 401


async def test_missing_token(client: TestClient[Any, Any]) -> None:
    for resp in (await client.post("/api/jwt/verify"),
                 await client.get("/api/admin"),
                 await client.get("/api/admin", headers={"Authorization": "Basic Ym9iOng="}),
                 await client.get("/api/software/x/access/user/name/list")):
        assert resp.status == 401
        body = await resp.json()
        assert_error_shape(body, "unauthorized")
        assert "token is required" in body["error"]


async def test_token_of_removed_user_dies(client: TestClient[Any, Any],
                                          catalogue_data: Store) -> None:
    token = await token_for(client, "bob")
    users.remove_user(catalogue_data, "bob")
    resp = await client.post("/api/jwt/verify", data={"jwt": token})
    assert resp.status == 401


@pytest.mark.parametrize(("username", "password"), [("bob", "wrong password"),
                                                    ("nobody", PASSWORD),
                                                    ("../etc", PASSWORD)])
async def test_bad_logins(client: TestClient[Any, Any], catalogue_data: Store,
                          monkeypatch: pytest.MonkeyPatch, username: str,
                          password: str) -> None:
    calls: list[str] = []
    threads: list[threading.Thread] = []
    real = passwords.verify_password

    def spy(password_hash: str, password: str) -> bool:
        calls.append(password_hash)
        threads.append(threading.current_thread())
        return real(password_hash, password)

    monkeypatch.setattr(authentication, "verify_password", spy)
    resp = await client.post("/api/jwt/obtain", json={"username": username,
                                                      "password": password})
    assert resp.status == 401
    body = await resp.json()
    assert_error_shape(body, "unauthorized")
    assert body["error"] == "wrong username or password"  # the same for both causes
    # No shortcut: the hasher runs whether the user exists or not.
    assert len(calls) == 1
    if username != "bob":
        assert calls == [passwords.DUMMY_HASH]
    assert threads[0] is not threading.main_thread()  # hashing stays off the event loop


async def test_missing_credentials(client: TestClient[Any, Any]) -> None:
    resp = await client.post("/api/jwt/obtain", json={"username": "bob"})
    assert resp.status == 400
    assert_error_shape(await resp.json(), "bad_parameter")


async def test_bad_format_is_refused(client: TestClient[Any, Any],
                                     catalogue_data: Store) -> None:
    resp = await client.post("/api/jwt/obtain", json={"username": "bob",
                                                      "password": PASSWORD,
                                                      "format": "csv"})
    assert resp.status == 400
    assert_error_shape(await resp.json(), "bad_parameter")


async def test_errors_use_the_asked_format(client: TestClient[Any, Any]) -> None:
    resp = await client.post("/api/jwt/verify", data={"jwt": "x", "format": "yaml"})
    assert resp.status == 401
    assert resp.content_type == "application/yaml"
    assert "type: unauthorized" in await resp.text()


def test_dummy_hash_costs_what_a_real_hash_costs() -> None:
    assert not passwords.HASHER.check_needs_rehash(passwords.DUMMY_HASH)
    assert not passwords.verify_password(passwords.DUMMY_HASH, PASSWORD)


def test_password_rules() -> None:
    assert passwords.verify_password(passwords.hash_password(PASSWORD), PASSWORD)
    assert not passwords.verify_password("not a hash", PASSWORD)
    for bad in ("short", "x" * 1025, 12345678):
        with pytest.raises(InvalidParameter):
            passwords.check_password(bad)


def test_decode_round_trip() -> None:
    secret = "s" * 48
    token = tokens.issue_token(secret, "bob", 120)
    decoded = tokens.decode_token(secret, token.jwt)
    assert decoded == token
    with pytest.raises(AuthenticationFailed, match="expired"):
        tokens.decode_token(secret, tokens.issue_token(secret, "bob", 1, now=0).jwt)


async def test_http_errors_have_the_error_shape(client: TestClient[Any, Any]) -> None:
    resp = await client.delete("/api/jwt/obtain")
    assert resp.status == 405
    assert_error_shape(await resp.json(), "method_not_allowed")
    resp = await client.get("/api/nothing/here")
    assert resp.status == 404
    assert_error_shape(await resp.json(), "not_found")


async def test_token_of_an_older_account_of_the_same_name(client: TestClient[Any, Any],
                                                           catalogue_data: Store) -> None:
    secret = client.app[JWT_SECRET_KEY]
    old = tokens.issue_token(secret, "bob", 3600, now=time.time() - 60).jwt
    users.remove_user(catalogue_data, "bob")
    users.add_user(catalogue_data, "bob", passwords.hash_password(PASSWORD))
    resp = await client.post("/api/jwt/verify", data={"jwt": old})
    assert resp.status == 401
    new = await token_for(client, "bob")
    assert (await client.post("/api/jwt/verify", data={"jwt": new})).status == 200


async def test_login_upgrades_old_hashes(client: TestClient[Any, Any], store: Store) -> None:
    from argon2 import PasswordHasher
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    users.add_user(store, "old", weak)
    await token_for(client, "old")
    upgraded = users.password_hash(store, "old")
    assert upgraded != weak and upgraded is not None
    assert not passwords.HASHER.check_needs_rehash(upgraded)
    assert passwords.verify_password(upgraded, PASSWORD)


async def test_a_new_password_ends_older_tokens(client: TestClient[Any, Any],
                                                catalogue_data: Store,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    old = await token_for(client, "bob")
    later = time.time() + 5  # the change comes in a later second than the token
    monkeypatch.setattr(users.time, "time", lambda: later)
    users.set_password_hash(catalogue_data, "bob", passwords.hash_password("another password"))
    resp = await client.post("/api/jwt/verify", data={"jwt": old})
    assert resp.status == 401
    assert "password changed" in (await resp.json())["error"]


async def test_rehashing_the_same_password_keeps_tokens(client: TestClient[Any, Any],
                                                        catalogue_data: Store,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    old = await token_for(client, "bob")
    later = time.time() + 5
    monkeypatch.setattr(users.time, "time", lambda: later)
    users.set_password_hash(catalogue_data, "bob", passwords.hash_password(PASSWORD),
                            end_sessions=False)
    assert (await client.post("/api/jwt/verify", data={"jwt": old})).status == 200
