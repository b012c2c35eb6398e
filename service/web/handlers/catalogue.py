"""The public catalogue: softwares and containers."""

from __future__ import annotations

from aiohttp import web

from service.catalogue.softwares import get_software, list_containers, list_softwares
from service.web.formats import render
from service.web.keys import STORE_KEY
from service.web.reading import read_request
from service.web.routing import Routes

routes = Routes()


@routes.get("/api/software/list")
async def software_list(request: web.Request) -> web.Response:
    _, fmt = await read_request(request)
    return render([{"name": s.name, "info": {"sw": s.sw_info()}}
                   for s in list_softwares(request.app[STORE_KEY])], fmt)


@routes.get("/api/software/detail/{name}")
async def software_detail(request: web.Request) -> web.Response:
    _, fmt = await read_request(request)
    software = get_software(request.app[STORE_KEY], request.match_info["name"])
    return render({"name": software.name,
                   "info": {"sw": software.sw_info(), "cont": software.container.as_info()}},
                  fmt)


@routes.get("/api/container/list")
async def container_list(request: web.Request) -> web.Response:
    _, fmt = await read_request(request)
    return render([{"name": c.name, "info": {"cont": c.as_info()}}
                   for c in list_containers(request.app[STORE_KEY])], fmt)
