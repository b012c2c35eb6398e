"""What every run request goes through before it runs, local or cluster:
parameters, token, software, access policy, quota, then the run folder."""

from __future__ import annotations

import shutil

from aiohttp import web

from service import runfolder
from service.auth import access_level, authenticate, check_run_policy
from service.catalogue import get_software
from service.errors import TooManyRuns
from service.keys import CONFIG_KEY, STORE_KEY
from service.runrequest import parse_run_request
from service.runs import PreparedRun, prepare_run
from service.web.middleware import FORMAT_REQUEST_KEY
from service.web.params import read_params


async def start_run(request: web.Request, kind: str) -> PreparedRun:
    config = request.app[CONFIG_KEY]
    store = request.app[STORE_KEY]
    fmt = request.query.get("format", "json")
    request[FORMAT_REQUEST_KEY] = fmt
    staging = runfolder.staging_dir(config.runs_dir)
    try:
        params = await read_params(request, config.limits, staging / "uploads")
        if isinstance(params.values.get("format"), str):
            request[FORMAT_REQUEST_KEY] = params.values["format"]
        user = await authenticate(request, params)
        software = get_software(store, request.match_info["name"])
        run_request = parse_run_request(params, cluster=(kind == "cluster"))
        check_run_policy(config.policy, access_level(store, user, software), run_request,
                         cluster=(kind == "cluster"))
        if store.count_live_runs(user) >= config.limits.max_live_runs_per_user:
            raise TooManyRuns(f"{user} has {config.limits.max_live_runs_per_user} runs "
                              "going on already; wait for one to end")
        return await prepare_run(config, store, software, user, run_request, params.files,
                                 staging, kind)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
