"""The caller's own runs: GET run/list (paged, filtered by state and software) and
POST software/{identity}/cancel/{name}/{key}. Both need the caller's token: a run
key alone is a capability to read a run, not to list or end runs."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from service.cluster.as_user_backend import cancel_jobs
from service.core.errors import Conflict, NotFound
from service.runs.listing import RunListQuery, list_runs
from service.runs.record import load_record
from service.web.auth import authenticate
from service.web.formats import render
from service.web.handlers.cluster_runs import state_body
from service.web.keys import BACKEND_KEY, CONFIG_KEY, LEDGER_KEY, POLLER_KEY, STORE_KEY
from service.web.reading import read_request
from service.web.routing import Routes
from service.web.waiting import wait_for_change

log = logging.getLogger(__name__)
routes = Routes()
CANCEL_WAIT_S = 10.0  # how long a cancel call waits for Slurm to confirm


@routes.get("/api/run/list")
async def run_list(request: web.Request) -> web.Response:
    params, fmt = await read_request(request)
    user = await authenticate(request, params)
    query = RunListQuery.parse(params.values)
    page = list_runs(request.app[STORE_KEY], user, query, request.app[LEDGER_KEY].state_of)
    return render(page.model_dump(), fmt)


@routes.post("/api/software/{identity}/cancel/{name}/{key}")
async def cancel_run(request: web.Request) -> web.Response:
    params, fmt = await read_request(request)
    user = await authenticate(request, params)
    config = request.app[CONFIG_KEY]
    if request.match_info["identity"] != config.cluster.identity:
        raise NotFound(f"unknown cluster resource {request.match_info['identity']!r}")
    folder = request.app[LEDGER_KEY].placement.find(request.match_info["key"])
    record = load_record(folder)
    # Another user's run is as unknown as a key that never was.
    if record.name != request.match_info["name"] or record.owner != user:
        raise NotFound("unknown run key")
    if record.kind != "cluster":
        raise Conflict("a local run is answered within its request; it cannot be cancelled")
    ledger = request.app[LEDGER_KEY]
    state = ledger.state_of(record.key)
    if state.final:
        raise Conflict(f"the run is over already ({state.cr})")
    job_ids = list(state.jobs)
    if not job_ids:
        raise Conflict("the run has no Slurm job yet; retry in a moment")
    await cancel_jobs(request.app[BACKEND_KEY], folder, job_ids)
    log.info("run %s cancelled by its owner", record.jobname)
    request.app[POLLER_KEY].wake()
    # Slurm confirms within a poll round or two; the final state comes from the
    # poller as for any run (NOK, latest_state CANCELLED), never set by hand here.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CANCEL_WAIT_S
    while not state.final and loop.time() < deadline:
        state = await wait_for_change(ledger, record.key, state, deadline - loop.time())
    return render(state_body(request, record, state), fmt)
