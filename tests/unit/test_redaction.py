"""What the logs may never hold: keys, tokens, passwords."""

from __future__ import annotations

import logging

import pytest

from service.web.accesslog import RedactingFilter, redact

KEY = "58ae6cea-df31-4059-9466-b817c337985d"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"


@pytest.mark.parametrize("text,secret", [
    (f"/api/software/muse/state/sw_example/{KEY}/", KEY),
    (f"/api/jwt/verify/?jwt={JWT}", JWT),
    ("/api/jwt/verify/?jwt=not-a-jwt-but-secret", "not-a-jwt-but-secret"),
    ("/api/jwt/obtain/?username=alice&password=hunter2", "hunter2"),
    ("/api/jwt/obtain/?username=alice&PASSWORD=hunter2&format=json", "hunter2"),
    ("/api/jwt/obtain/?username=alice&pass%77ord=hunter2", "hunter2"),
    ("/x?a=1;token=s3cret", "s3cret"),
    ("/api/admin/user/password?new_password=s3cret", "s3cret"),
])
def test_secrets_are_redacted(text: str, secret: str) -> None:
    assert secret not in redact(text)


def test_other_values_stay() -> None:
    assert redact("/api/jwt/obtain/?username=alice&format=yaml") == \
        "/api/jwt/obtain/?username=alice&format=yaml"


def test_filter_redacts_messages_and_tracebacks() -> None:
    try:
        raise ValueError(f"bad token {JWT}")
    except ValueError:
        import sys
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "on %s",
                                   (f"/a?password=hunter2&jwt={JWT}",), sys.exc_info())
    assert RedactingFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "hunter2" not in text and JWT not in text and "ValueError" in text
