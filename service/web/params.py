"""Read a request's parameters from any of the four encodings the API accepts:
JSON body, urlencoded form, multipart form (with files), and the query string.
Body values win over query values. Uploaded files are streamed, with size
limits, into a staging folder the caller owns (and removes on failure)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from service.core.config import LimitsConfig
from service.core.errors import InvalidParameter, TooLarge
from service.core.params import Params, UploadedFile, check_file_name

MAX_FORM_BYTES = 1024 * 1024  # non-file parameters: plenty for any command line
CHUNK = 256 * 1024


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
