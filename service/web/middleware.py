"""The one place every answer passes through: it turns errors into HTTP
({"error", "more", "type"}) and gives every HTML answer the headers that keep a
browser from running foreign scripts in it, framing it, or guessing types."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable

from aiohttp import web

from service.core import errors
from service.web.formats import FORMATS, render

log = logging.getLogger(__name__)

# Domain error -> (HTTP status, error type). Subclasses must come before bases.
STATUS: tuple[tuple[type[errors.WsError], int, str], ...] = (
    (errors.InvalidParameter, 400, "bad_parameter"),
    (errors.AuthenticationFailed, 401, "unauthorized"),
    (errors.AccessDenied, 403, "forbidden"),
    (errors.NotFound, 404, "not_found"),
    (errors.Conflict, 409, "conflict"),
    (errors.NotReady, 409, "not_ready"),
    (errors.TooLarge, 413, "too_large"),
    (errors.RunFailed, 422, "run_failed"),
    (errors.TooManyRuns, 429, "too_many_runs"),
    (errors.TooManyAttempts, 429, "too_many_attempts"),
    (errors.ClusterUnavailable, 503, "cluster_unavailable"),
    (errors.Busy, 503, "busy"),
    (errors.StorageQuotaExceeded, 507, "storage_quota"),
    (errors.StorageFull, 507, "storage_full"),
)

# The pages run only this service's own scripts (no inline ones), talk only to
# it, post forms only to it, and are never framed (clickjacking).
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                           "base-uri 'none'; form-action 'self'")
HTML_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY,
                "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}

# Key under which handlers record the asked `format` so errors use it too.
FORMAT_REQUEST_KEY = web.RequestKey("ws_format", str)


def error_body(message: str, more: list[str], error_type: str) -> dict[str, object]:
    return {"error": message, "more": more, "type": error_type}


def _format_of(request: web.Request) -> str:
    fmt = request.get(FORMAT_REQUEST_KEY) or request.query.get("format", "json")
    return fmt if fmt in FORMATS else "json"


def _map(error: errors.WsError) -> tuple[int, str]:
    for cls, status, error_type in STATUS:
        if isinstance(error, cls):
            return status, error_type
    return 500, "internal_error"


def with_browser_headers(response: web.StreamResponse) -> web.StreamResponse:
    """No answer is sniffed into another type; an HTML one also gets the policy.
    A streamed answer has sent its headers already: it calls this itself."""
    if not response.prepared:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if response.content_type == "text/html":
            for name, value in HTML_HEADERS.items():
                response.headers.setdefault(name, value)
    return response


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    return with_browser_headers(await _answer(request, handler))


async def _answer(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except errors.WsError as e:
        status, error_type = _map(e)
        body = error_body(e.message, e.more, error_type)
        if isinstance(e, errors.RunFailed):
            body["report"] = e.report
        headers = {}
        if isinstance(e, (errors.Busy, errors.TooManyAttempts)):
            headers["Retry-After"] = str(e.retry_after_s)
        return render(body, _format_of(request), status, headers)
    except sqlite3.OperationalError as e:
        if "locked" not in str(e) and "busy" not in str(e):
            log.exception("database error on %s %s", request.method, request.rel_url.path)
            return render(error_body("internal error; the administrator can find it in "
                                     "the service log", [], "internal_error"),
                          _format_of(request), 500)
        # Another process (ws admin) holds the write lock: never wait on the loop.
        return render(error_body("the service's database is busy", ["retry in a second"],
                                 "busy"), _format_of(request), 503, {"Retry-After": "1"})
    except web.HTTPException as e:
        if e.status < 400:
            raise
        error_type = {404: "not_found", 405: "method_not_allowed",
                      413: "too_large"}.get(e.status, "http_error")
        allow = {"Allow": e.headers["Allow"]} if "Allow" in e.headers else None
        return render(error_body(e.reason, [], error_type), _format_of(request), e.status,
                      allow)
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.rel_url.path)
        return render(error_body("internal error; the administrator can find it in the "
                                 "service log", [], "internal_error"), _format_of(request), 500)
