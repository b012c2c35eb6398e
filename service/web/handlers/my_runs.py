"""The caller's own runs: GET run/list (paged, filtered by state and software),
POST software/{identity}/cancel/{name}/{key} and POST run/cancel (many at once,
filtered by software and Slurm state). All need the caller's token: a run key
alone is a capability to read a run, not to list or end runs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from aiohttp import web

from service.cluster.as_user_backend import cancel_jobs
from service.core.errors import Conflict, NotFound
from service.runs.cancel_many import CancelQuery, choose
from service.runs.listing import RunListQuery, list_runs
from service.runs.record import load_record
from service.web.auth import authenticate
from service.web.formats import render
from service.web.handlers.cluster_runs import state_body
from service.web.keys import (
    BACKEND_KEY,
    CANCELS_KEY,
    CONFIG_KEY,
    LEDGER_KEY,
    POLLER_KEY,
    STORE_KEY,
)
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
    await _cancel(request.app, {record.key: job_ids})
    log.info("run %s cancelled by its owner", record.jobname)
    # Slurm confirms within a poll round or two; the final state comes from the
    # poller as for any run (NOK, latest_state CANCELLED), never set by hand here.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CANCEL_WAIT_S
    while not state.final and loop.time() < deadline:
        state = await wait_for_change(ledger, record.key, state, deadline - loop.time())
    return render(state_body(request, record, state), fmt)


@routes.post("/api/run/cancel")
async def cancel_runs(request: web.Request) -> web.Response:
    """Many of the caller's live cluster runs at once: one batch of cancels. Answers
    once Slurm took it; each run's end comes from the poller as for any run."""
    params, fmt = await read_request(request)
    user = await authenticate(request, params)
    query = CancelQuery.parse(params.values)
    # limit -1: every live run of the caller (at most max_live_runs_per_user).
    entries, _ = request.app[STORE_KEY].runs_of(user, "WAIT", query.software, limit=-1)
    chosen, answer = choose(entries, request.app[LEDGER_KEY].live_state, query)
    await _cancel(request.app, {k: s.jobs for k, s in chosen.items()})
    log.info("%d runs of %s cancelled by their owner", len(chosen), user)
    return render(answer.model_dump(), fmt)


async def _cancel(app: web.Application, runs: dict[str, Iterable[int]]) -> None:
    """Cancel these runs' jobs: batched with the other cancels of the moment (one
    scancel for them all), or, in identity mode "unix", each as its run's user."""
    if not app[CONFIG_KEY].identity.unix:
        await app[CANCELS_KEY].cancel(runs)
        return
    ledger = app[LEDGER_KEY]
    for key, job_ids in runs.items():
        await cancel_jobs(app[BACKEND_KEY], ledger.folder(key), job_ids)
    app[POLLER_KEY].wake()
