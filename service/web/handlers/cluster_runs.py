"""Cluster runs: POST software/{identity}/run/{name}, then state, results, content."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from service.core.errors import NotFound, NotReady
from service.runs.folder import RunFolder
from service.runs.record import RunRecord, load_record
from service.runs.results import (
    cluster_report,
)
from service.runs.state import OK, WAIT, RunState
from service.web.answers import send_content, send_results
from service.web.auth import authenticate
from service.web.formats import render
from service.web.keys import CONFIG_KEY, LEDGER_KEY, SUBMISSION_QUEUE_KEY
from service.web.middleware import FORMAT_REQUEST_KEY
from service.web.params import read_params
from service.web.routing import Routes
from service.web.runstart import start_run
from service.web.waiting import wait_for_change, wait_seconds

log = logging.getLogger(__name__)
routes = Routes()


def _urls(request: web.Request, name: str, key: str) -> dict[str, str]:
    config = request.app[CONFIG_KEY]
    base = f"{config.server.public_url}/api/software/{config.cluster.identity}"
    return {"state": f"{base}/state/{name}/{key}/", "run": f"{base}/run/{name}/{key}/",
            "content": f"{base}/content/{name}/{key}/"}


@routes.post("/api/software/{identity}/run/{name}")
async def post_run(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG_KEY]
    if request.match_info["identity"] != config.cluster.identity:
        raise NotFound(f"unknown cluster resource {request.match_info['identity']!r}",
                       [f"this service runs on {config.cluster.identity!r}"])
    # Slurm down: refused (runstart.py asks the cluster before writing anything).
    prepared = await start_run(request, "cluster")
    record = prepared.record
    # The folder is written: answer now, the jobs reach Slurm behind the answer.
    request.app[SUBMISSION_QUEUE_KEY].start(record.key, record.jobname)
    urls = _urls(request, record.name, record.key)
    body = {
        "msg": f"GET {urls['state']} request to get cluster job state, while waiting for "
               f"results (the GET {urls['run']} request to get results will be possible "
               f"once job finished). Keep the software name value={record.name} and the "
               f"key value={record.key} in order to be able to follow your POST request. "
               "Notifications will be sent during process running if mail-user given into "
               f"sbatch_list option. (time limit: {prepared.resources.runtime_min} min)",
        "url": urls["state"],
        "urls": urls,
    }
    return render(body, record.request.format)


async def find_run(request: web.Request) -> tuple[RunFolder, RunRecord, RunState, str]:
    """The run of {name}/{key}; with require_owner_token, only for its owner."""
    config = request.app[CONFIG_KEY]
    params = await read_params(request, config.limits)
    fmt = params.text("format", "json")
    request[FORMAT_REQUEST_KEY] = fmt
    if request.match_info["identity"] != config.cluster.identity:
        raise NotFound(f"unknown cluster resource {request.match_info['identity']!r}")
    folder = request.app[LEDGER_KEY].placement.find(request.match_info["key"])
    record = load_record(folder)
    if record.name != request.match_info["name"]:
        raise NotFound("unknown run key")
    if config.auth.require_owner_token and await authenticate(request, params) != record.owner:
        raise NotFound("unknown run key")
    # A run whose jobs are being submitted: its state shows the job id once known.
    await request.app[SUBMISSION_QUEUE_KEY].settled(record.key)
    state = request.app[LEDGER_KEY].state_of(record.key)
    return folder, record, state, fmt


@routes.get("/api/software/{identity}/state/{name}/{key}")
async def get_state(request: web.Request) -> web.StreamResponse:
    seconds = wait_seconds(request.query.get("wait"))
    _, record, state, fmt = await find_run(request)
    if seconds:
        state = await wait_for_change(request.app[LEDGER_KEY], record.key, state, seconds)
    return render(state_body(request, record, state), fmt)


def state_body(request: web.Request, record: RunRecord, state: RunState) -> dict[str, Any]:
    """The state call's answer: the report, what to do next, and where."""
    urls = _urls(request, record.name, record.key)
    identity = request.app[CONFIG_KEY].cluster.identity
    if state.cr == WAIT:
        msg = (f"The job is {state.latest_state}: GET {urls['state']} again later to know "
               f"when results are ready (GET {urls['content']} gives the run folder at "
               "any time).")
        url = urls["state"]
    elif state.cr == OK:
        msg = (f"End of job. You can now get results by GET {urls['run']} request or ask "
               f"for content (to investigate) by GET {urls['content']} request.")
        url = urls["run"]
    else:
        msg = (f"End of job, without success: {state.cause}. Ask for content (to "
               f"investigate) by GET {urls['content']} request.")
        url = urls["content"]
    return {"info": {"report": cluster_report(record, state, identity)}, "msg": msg,
            "url": url}


@routes.get("/api/software/{identity}/run/{name}/{key}")
async def get_results(request: web.Request) -> web.StreamResponse:
    folder, record, state, fmt = await find_run(request)
    urls = _urls(request, record.name, record.key)
    if state.cr == WAIT:
        raise NotReady("the run is not over yet", [f"GET {urls['state']} until cr is OK"])
    if state.cr != OK:
        raise NotReady(f"the run ended without success: {state.cause}",
                       [f"GET {urls['content']} gives the run folder to investigate"])
    identity = request.app[CONFIG_KEY].cluster.identity
    return await send_results(request, folder, record,
                              cluster_report(record, state, identity), fmt)


@routes.get("/api/software/{identity}/content/{name}/{key}")
async def get_content(request: web.Request) -> web.StreamResponse:
    folder, _, _, _ = await find_run(request)
    return await send_content(request, folder)
