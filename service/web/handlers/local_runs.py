"""Local runs: POST /api/software/run/{name}, answered with the result itself."""

from __future__ import annotations

import asyncio

from aiohttp import web

from service.core.errors import Busy, RunFailed
from service.local.limits import limits_for
from service.runs.results import (
    download_message,
    local_report,
    result_file,
    stdout_text,
    store_download,
)
from service.runs.state import OK
from service.web.files import send_file
from service.web.formats import render, render_stdout
from service.web.keys import CONFIG_KEY, LEDGER_KEY, LOCAL_RUNNER_KEY
from service.web.routing import Routes
from service.web.runstart import start_run

routes = Routes()


@routes.post("/api/software/run/{name}")
async def post_local_run(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG_KEY]
    prepared = await start_run(request, "local")
    folder, record = prepared.folder, prepared.record
    ledger = request.app[LEDGER_KEY]
    try:
        state = await request.app[LOCAL_RUNNER_KEY].run(ledger, record.key,
                                                         limits_for(prepared.policy))
    except Busy:
        ledger.discard(record.key)  # refused: it leaves nothing behind
        raise
    report = local_report(record, state, folder)
    req = record.request
    if state.cr != OK:
        content = (f"{config.server.public_url}/api/software/{config.cluster.identity}"
                   f"/content/{record.name}/{record.key}/")
        raise RunFailed(f"the run ended without success: {state.cause}", report,
                        [f"GET {content} gives the run folder to investigate"])
    if req.todownload:
        key = await asyncio.to_thread(store_download, folder, req.returned_type,
                                      config.downloads_dir)
        return render(download_message(config.server.public_url, key), req.format)
    if req.returned_type == "stdout":
        return await render_stdout(await asyncio.to_thread(stdout_text, folder), report,
                                   req.format)
    result = await asyncio.to_thread(result_file, folder, req.returned_type, config.runs_dir)
    return await send_file(request, result)
