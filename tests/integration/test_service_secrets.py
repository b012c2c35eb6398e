"""Secrets never reach the service's log (var/log/ws.log in production; the
live service's stdout and stderr here): tokens and passwords sent in a query
string, as the API allows, are redacted like run keys."""

from __future__ import annotations

import pytest
import requests

from tests.live import PASSWORD, LiveService

pytestmark = pytest.mark.cluster


def test_tokens_and_passwords_in_query_strings_are_not_logged(service: LiveService) -> None:
    token = service.token("alice")
    wrong = "wrong-password-7f3a9c"
    right = PASSWORD.format("alice")
    calls = [
        requests.post(f"{service.url}/api/jwt/obtain/?username=alice&password={wrong}",
                      timeout=30),
        requests.post(f"{service.url}/api/jwt/obtain/?username=alice&password={right}",
                      timeout=30),
        requests.post(f"{service.url}/api/jwt/verify/?jwt={token}", timeout=30),
        requests.get(f"{service.url}/api/jwt/verify/?jwt={token}&format=json", timeout=30),
        requests.post(f"{service.url}/api/software/run/sw_example/?jwt={token}",
                      json={"cmd": "echo hi"}, timeout=120),
    ]
    assert [r.status_code for r in calls] == [401, 200, 200, 200, 200]
    issued = calls[1].json()["jwt"]
    log = service.log()
    assert "/api/jwt/verify/?jwt=" in log  # the requests were logged, secrets not
    for secret in (wrong, right, token, issued, token.split(".")[2]):
        assert secret not in log
