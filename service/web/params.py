"""Read a request's parameters from any of the four encodings the API accepts:
JSON body, urlencoded form, multipart form (with files), and the query string.
Body values win over query values. Uploaded files are streamed, with size
limits, into a staging folder the caller owns (and removes on failure)."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from service.config import LimitsConfig
from service.errors import InvalidParameter, TooLarge

MAX_FORM_BYTES = 1024 * 1024  # non-file parameters: plenty for any command line
CHUNK = 256 * 1024


@dataclass(frozen=True)
class UploadedFile:
    name: str
    path: Path
    size: int


@dataclass
class Params:
    values: dict[str, Any] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)

    def text(self, name: str, default: str = "") -> str:
        """A scalar parameter as a string; lists and objects are refused."""
        value = self.values.get(name, default)
        if value is None:
            return default
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, (int, float)):
            return str(value)
        if not isinstance(value, str):
            raise InvalidParameter(f"parameter {name!r} must be a string")
        return value


    def json_value(self, name: str, kinds: tuple[type, ...], what: str) -> Any:
        """A JSON list or object, given as such (JSON body) or as JSON text (forms,
        query string); None when absent or empty."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as e:
                raise InvalidParameter(f"{name} must be {what}", [str(e)]) from e
        if not isinstance(value, kinds):
            raise InvalidParameter(f"{name} must be {what}")
        return value


def check_file_name(name: str) -> str:
    """An uploaded file keeps its base name; anything that could name another
    place, or that a shell or terminal could misread, is refused."""
    if not name or name in (".", "..") or len(name.encode()) > 255:
        raise InvalidParameter(f"bad file name {name!r}", ["a plain file name is expected"])
    bad = [c for c in name if c in "/\\" or unicodedata.category(c)[0] == "C"]
    if bad:
        raise InvalidParameter(f"bad file name {name!r}",
                               ["file names may not contain path separators, NUL or "
                                "control characters"])
    return name


async def read_params(request: web.Request, limits: LimitsConfig,
                      staging: Path | None = None) -> Params:
    params = Params(values=dict(request.query))
    if request.method not in ("POST", "PUT", "PATCH") or not request.body_exists:
        return params
    ctype = request.content_type
    if ctype == "multipart/form-data":
        await _read_multipart(request, limits, staging, params)
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
        from urllib.parse import parse_qsl
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
                          params: Params) -> None:
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError) as e:
        raise InvalidParameter("the multipart body cannot be parsed", [str(e)]) from e
    total = 0
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
                staging.mkdir(parents=True, exist_ok=True)
                dest = staging / f"{len(params.files):04d}"
                size = 0
                with dest.open("wb") as out:
                    while chunk := await part.read_chunk(CHUNK):
                        size += len(chunk)
                        total += len(chunk)
                        if size > limits.max_file_bytes:
                            raise TooLarge(f"file {name!r} is over {limits.max_file_bytes}"
                                           " bytes")
                        if total > limits.max_request_bytes:
                            raise TooLarge(f"the upload is over {limits.max_request_bytes}"
                                           " bytes")
                        out.write(chunk)
                params.files.append(UploadedFile(name, dest, size))
            else:
                value = await part.read(decode=True)
                text_bytes += len(value)
                if text_bytes > MAX_FORM_BYTES:
                    raise TooLarge(f"form fields are over {MAX_FORM_BYTES} bytes")
                try:
                    params.values[part.name or ""] = value.decode(
                        part.get_charset(default="utf-8"))
                except (UnicodeDecodeError, LookupError) as e:
                    raise InvalidParameter(f"field {part.name!r} is not UTF-8") from e
    # Malformed parts: aiohttp raises ValueError, or HttpProcessingError for
    # headers it cannot read (a broken part header line).
    except (ValueError, HttpProcessingError) as e:
        raise InvalidParameter("the multipart body cannot be parsed",
                               [str(e)[:200]]) from e
