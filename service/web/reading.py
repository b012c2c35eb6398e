"""The first step of every handler: read the parameters, then settle the
response format so that any later error is answered in it."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from service.core.errors import InvalidParameter
from service.core.params import Params
from service.web.formats import FORMATS
from service.web.keys import CONFIG_KEY
from service.web.middleware import FORMAT_REQUEST_KEY
from service.web.params import read_params


def response_format(request: web.Request, params: Params) -> str:
    """Validate `format` and record it for the error middleware."""
    fmt = params.values.get("format") or "json"
    if fmt not in FORMATS:
        raise InvalidParameter(f"bad format {fmt!r}", [f"allowed: {', '.join(FORMATS)}"])
    request[FORMAT_REQUEST_KEY] = fmt
    return str(fmt)


async def read_request(request: web.Request,
                       staging: Path | None = None) -> tuple[Params, str]:
    params = await read_params(request, request.app[CONFIG_KEY].limits, staging)
    return params, response_format(request, params)
