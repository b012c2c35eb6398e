"""GET /api/download/?key=KEY: results kept by todownload=yes requests."""

from __future__ import annotations

from aiohttp import web

from service.runs.results import find_download
from service.web.files import send_file
from service.web.keys import CONFIG_KEY
from service.web.routing import Routes

routes = Routes()


@routes.get("/api/download")
async def get_download(request: web.Request) -> web.StreamResponse:
    result = find_download(request.app[CONFIG_KEY].downloads_dir, request.query.get("key", ""))
    return await send_file(request, result)
