"""Logs that never hold a secret: run and download keys (capabilities), tokens
and passwords given in a query string, and anything shaped like a JWT.

The access log redacts the request line it writes; RedactingFilter does the
same to every other log record of the service (aiohttp's own included), so a
secret that reaches a message by some other road is still not written."""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

KEY_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                    r"[0-9a-fA-F]{12}")
# header.payload.signature, base64url: every JWT starts with eyJ ('{"').
JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
# Query parameters whose values are secrets, compared by decoded, lower-cased name.
SECRET_NAMES = frozenset({"jwt", "token", "access_token", "password", "passwd",
                          "new_password", "secret", "api_key", "apikey", "authorization"})
QUERY_PAIR_RE = re.compile(r"([?&;])([^=&;#\s]*)=([^&;#\s]*)")


def _pair(match: re.Match[str]) -> str:
    sep, name, value = match.groups()
    if unquote_plus(name).strip().lower() in SECRET_NAMES:
        value = "<redacted>"
    return f"{sep}{name}={value}"


def redact(text: str) -> str:
    text = QUERY_PAIR_RE.sub(_pair, text)
    text = JWT_RE.sub("<jwt>", text)
    return KEY_RE.sub("<key>", text)


class RedactingAccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse,
            time: float) -> None:
        self.logger.info('%s "%s %s" %s %s %.3fs', request.remote, request.method,
                         redact(request.path_qs), response.status, response.body_length,
                         time)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and traceback text) with its secrets redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.msg, record.args = redact(message), None
        return True
