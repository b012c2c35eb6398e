"""What a browser gets: the page at / (plain HTML/JS/CSS from service/web/static,
no build step), the OpenAPI description and its browsable page at /api/docs.
The pages only call the API, with the same checks as any client."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from service.core.errors import NotFound
from service.web.keys import CONFIG_KEY
from service.web.openapi import openapi_document
from service.web.routing import Routes

routes = Routes()
STATIC = Path(__file__).resolve().parent.parent / "static"
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
         ".png": "image/png", ".svg": "image/svg+xml"}
# The Content-Security-Policy of HTML answers is set by service.web.middleware;
# scripts and styles get nosniff there too.
HEADERS = {"Cache-Control": "no-cache"}


def _static(name: str) -> web.Response:
    path = STATIC / name
    # Names are a flat, known set: nothing but a plain file of this folder is served.
    if "/" in name or name.startswith(".") or path.suffix not in TYPES or not path.is_file():
        raise NotFound(f"no page {name!r}")
    return web.Response(body=path.read_bytes(), content_type=TYPES[path.suffix],
                        headers=HEADERS)


@routes.get("/api/openapi.json")
async def openapi_json(request: web.Request) -> web.Response:
    config = request.app[CONFIG_KEY]
    return web.json_response(openapi_document(config.server.public_url,
                                              config.cluster.identity))


@routes.get("/api/docs")
async def docs_page(request: web.Request) -> web.Response:
    return _static("docs.html")


async def index(request: web.Request) -> web.Response:
    return _static("index.html")


@routes.get("/static/{file}")
async def static_file(request: web.Request) -> web.Response:
    return _static(request.match_info["file"])


routes.table.get("/")(index)
