"""Read a request's parameters from any of the four encodings the API accepts:
JSON body, urlencoded form, multipart form (with files), and the query string.
Body values win over query values. Uploaded files are streamed, with size
limits, into a staging folder the caller owns (and removes on failure).

Before its token is known, a request is a stranger's: a `jwt` field is checked
the moment it has been read (a bad one ends the request before any later
file is taken in), and what is staged before then is bounded in size
(`max_unauthenticated_upload_bytes`) and in requests doing it at once
(UploadGate)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from service.core.config import LimitsConfig
from service.core.errors import AuthenticationFailed, Busy, InvalidParameter, TooLarge
from service.core.params import Params, UploadedFile, check_file_name

MAX_FORM_BYTES = 1024 * 1024  # non-file parameters: plenty for any command line
CHUNK = 256 * 1024
HOW_TO_SEND_IT_FIRST = ("send the token first: the Authorization header, ?jwt= in the URL, or "
                    "the jwt field before the files")


@dataclass
class UploadGate:
    """How many requests are staging files before their token is known (one per
    app; the event loop is single-threaded, so a plain counter)."""

    limit: int
    active: int = 0


@dataclass
class TokenCheck:
    """`check` refuses a bad token (raises); `done` once a token has passed."""

    check: Callable[[str], Awaitable[None]]
    gate: UploadGate
    done: bool = False


async def read_params(request: web.Request, limits: LimitsConfig,
                      staging: Path | None = None,
                      token: TokenCheck | None = None) -> Params:
    params = Params(values=dict(request.query))
    if request.method not in ("POST", "PUT", "PATCH") or not request.body_exists:
        return params
    ctype = request.content_type
    if ctype == "multipart/form-data":
        await _read_multipart(request, limits, staging, params, token)
    elif ctype == "application/json":
        raw = await _read_small(request)
        try:
            body = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError) as e:
            raise InvalidParameter("the JSON body cannot be parsed", [str(e)]) from e
        if not isinstance(body, dict):
            raise InvalidParameter("the JSON body must be an object of parameters")
        params.values.update(body)
    else:  # urlencoded, or a client that did not say (curl -d without -H)
        raw = await _read_small(request)
        try:
            pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True,
                              strict_parsing=False)
        except UnicodeDecodeError as e:
            raise InvalidParameter("the form body is not UTF-8") from e
        params.values.update(dict(pairs))
    return params


async def _read_small(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        raise TooLarge(f"the request body is over {MAX_FORM_BYTES} bytes; send files as "
                       "multipart form data")
    data = bytearray()
    async for chunk in request.content.iter_chunked(CHUNK):
        data += chunk
        if len(data) > MAX_FORM_BYTES:
            raise TooLarge(f"the request body is over {MAX_FORM_BYTES} bytes")
    return bytes(data)


async def _read_multipart(request: web.Request, limits: LimitsConfig, staging: Path | None,
                          params: Params, token: TokenCheck | None) -> None:
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError) as e:
        raise InvalidParameter("the multipart body cannot be parsed", [str(e)]) from e
    staged = _Staging(limits, token)
    text_bytes = 0
    try:
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader):  # nested multipart
                raise InvalidParameter("nested multipart bodies are not accepted")
            if part.filename is not None:
                if staging is None:
                    raise InvalidParameter("this endpoint takes no files")
                if part.name != "file":
                    raise InvalidParameter(f"files are sent as 'file', not {part.name!r}")
                if len(params.files) >= limits.max_files:
                    raise TooLarge(f"more than {limits.max_files} files")
                name = check_file_name(part.filename)
                dest = staging / f"{len(params.files):04d}"
                size = await staged.write(part, name, dest)
                params.files.append(UploadedFile(name, dest, size))
            else:
                value = await part.read(decode=True)
                text_bytes += len(value)
                if text_bytes > MAX_FORM_BYTES:
                    raise TooLarge(f"form fields are over {MAX_FORM_BYTES} bytes")
                try:
                    text = value.decode(part.get_charset(default="utf-8"))
                except (UnicodeDecodeError, LookupError) as e:
                    raise InvalidParameter(f"field {part.name!r} is not UTF-8") from e
                params.values[part.name or ""] = text
                if part.name == "jwt" and token is not None and not token.done:
                    await token.check(text.strip())  # before any later part is read
                    token.done = True
                    staged.leave_gate()
    # Malformed parts: aiohttp raises ValueError, or HttpProcessingError for
    # headers it cannot read (a broken part header line).
    except (ValueError, HttpProcessingError) as e:
        raise InvalidParameter("the multipart body cannot be parsed",
                               [str(e)[:200]]) from e
    finally:
        staged.leave_gate()


class _Staging:
    """Streams file parts to disk (writes in a worker thread, off the event loop),
    within the request's limits and, before a token, the stranger's."""

    def __init__(self, limits: LimitsConfig, token: TokenCheck | None) -> None:
        self.limits = limits
        self.token = token
        self.total = 0
        self.before_token = 0
        self.in_gate = False

    def _enter_gate(self) -> None:
        if self.token is None or self.token.done or self.in_gate:
            return
        gate = self.token.gate
        if gate.active >= gate.limit:
            raise Busy(f"{gate.limit} uploads without a token are already being taken in",
                       [HOW_TO_SEND_IT_FIRST])
        gate.active += 1
        self.in_gate = True

    def leave_gate(self) -> None:
        if self.in_gate and self.token is not None:
            self.token.gate.active -= 1
            self.in_gate = False

    def _count(self, name: str, size: int, n: int) -> None:
        self.total += n
        limits = self.limits
        if size > limits.max_file_bytes:
            raise TooLarge(f"file {name!r} is over {limits.max_file_bytes} bytes")
        if self.total > limits.max_request_bytes:
            raise TooLarge(f"the upload is over {limits.max_request_bytes} bytes")
        if self.token is not None and not self.token.done:
            self.before_token += n
            if self.before_token > limits.max_unauthenticated_upload_bytes:
                raise AuthenticationFailed(
                    f"a token is required before more than "
                    f"{limits.max_unauthenticated_upload_bytes} bytes of files",
                    [HOW_TO_SEND_IT_FIRST])

    async def write(self, part: BodyPartReader, name: str, dest: Path) -> int:
        self._enter_gate()
        dest.parent.mkdir(parents=True, exist_ok=True)
        out = await asyncio.to_thread(dest.open, "wb")
        size = 0
        try:
            while chunk := await part.read_chunk(CHUNK):
                size += len(chunk)
                self._count(name, size, len(chunk))
                await asyncio.to_thread(out.write, chunk)
        finally:
            await asyncio.to_thread(out.close)
        return size
