"""Local runs: POST /api/software/run/{name}, answered with the result itself."""

from __future__ import annotations

from aiohttp import web

from service.core.errors import Busy, RunFailed, TooManyRuns
from service.local.limits import limits_for
from service.runs.results import (
    local_report,
)
from service.runs.state import OK
from service.web.answers import send_results
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
        state = await request.app[LOCAL_RUNNER_KEY].run(ledger, record.key, record.owner,
                                                         limits_for(prepared.policy))
    except (Busy, TooManyRuns):
        ledger.discard(record.key)  # refused: it leaves nothing behind
        raise
    report = local_report(record, state, folder)
    req = record.request
    if state.cr != OK:
        content = (f"{config.server.public_url}/api/software/{config.cluster.identity}"
                   f"/content/{record.name}/{record.key}/")
        raise RunFailed(f"the run ended without success: {state.cause}", report,
                        [f"GET {content} gives the run folder to investigate"])
    return await send_results(request, folder, record, report, req.format)
