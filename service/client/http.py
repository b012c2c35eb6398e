"""HTTP for the client with the standard library: JSON and multipart bodies, and
the API's one error shape turned into WsClientError. The bearer token never
follows a redirect to another origin (scheme, host and port): it is the user's
credential for one service, not for wherever that service, or a proxy in front
of it, points."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


class WsClientError(Exception):
    """An error answer of the API ({"error", "more", "type"}) or an unreachable service."""

    def __init__(self, status: int, message: str, more: list[str] | None = None,
                 error_type: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.more = list(more or [])
        self.type = error_type

    def __str__(self) -> str:
        details = "".join(f"\n  {m}" for m in self.more)
        return f"{self.message} ({self.status} {self.type}){details}"


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes
    filename: str | None

    def json(self) -> Any:
        return json.loads(self.body)


def multipart(fields: dict[str, str], files: list[Path]) -> tuple[bytes, str]:
    """A multipart/form-data body (fields, then each file as `file`) and its type."""
    boundary = f"ws-{uuid.uuid4().hex}"
    out = bytearray()
    for name, value in fields.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                ).encode() + value.encode() + b"\r\n"
    for path in files:
        quoted = path.name.replace("\\", "\\\\").replace('"', '\\"')
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"{quoted}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                ).encode() + path.read_bytes() + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def _filename(disposition: str) -> str | None:
    for part in disposition.split(";"):
        name, _, value = part.strip().partition("=")
        if name == "filename" and value:
            return Path(value.strip('"')).name or None
    return None


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the port filled in from the scheme if absent."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or DEFAULT_PORTS.get(scheme)


class _SameOriginCredentials(urllib.request.HTTPRedirectHandler):
    """Follows redirects as urllib does, but drops the Authorization header on
    any hop to another origin, an https to http one included."""

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int,
                         msg: str, headers: Any, newurl: str) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and origin(newurl) != origin(req.full_url):
            for name in list(new.headers):
                if name.lower() == "authorization":
                    del new.headers[name]
        return new


_OPENER = urllib.request.build_opener(_SameOriginCredentials)


def call(method: str, url: str, token: str | None = None, body: bytes | None = None,
         content_type: str | None = None, timeout: float = 120.0) -> Answer:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"  # a header: never in a URL or log
    if content_type:
        headers["Content-Type"] = content_type
    if not url.startswith(("http://", "https://")):
        raise WsClientError(0, f"not an http(s) URL: {url}", error_type="bad_url")
    request = urllib.request.Request(url, data=body, method=method,  # noqa: S310
                                     headers=headers)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return Answer(response.status, response.headers.get_content_type(),
                          response.read(),
                          _filename(response.headers.get("Content-Disposition", "")))
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            data = json.loads(raw)
            raise WsClientError(e.code, str(data.get("error", e.reason)),
                                [str(m) for m in data.get("more", [])],
                                str(data.get("type", ""))) from None
        except (ValueError, AttributeError):
            raise WsClientError(e.code, raw.decode(errors="replace")[:500] or str(e.reason),
                                error_type="http_error") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise WsClientError(0, f"cannot reach {url.split('/api/')[0]}: {reason}",
                            error_type="unreachable") from None
