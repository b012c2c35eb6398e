"""What every run request goes through before it runs, local or cluster:
parameters, token, software, access policy, quota, then the run folder."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from aiohttp import web

from service.accounts.unix_users import runs_as
from service.accounts.users import get_user
from service.catalogue.access import access_level
from service.catalogue.softwares import get_software
from service.core.errors import full_disk_is_storage_full
from service.core.params import Params
from service.runs import folder as runfolder
from service.runs.lifecycle import PreparedRun, prepare_run
from service.runs.parameters import parse_run_request
from service.runs.policy import check_run_policy
from service.web.auth import authenticate
from service.web.keys import (
    BACKEND_KEY,
    CONFIG_KEY,
    LEDGER_KEY,
    MODULES_KEY,
    PROBE_KEY,
    STORE_KEY,
    UPLOAD_GATE_KEY,
)
from service.web.middleware import FORMAT_REQUEST_KEY
from service.web.params import TokenCheck, read_params


async def start_run(request: web.Request, kind: str) -> PreparedRun:
    config = request.app[CONFIG_KEY]
    request[FORMAT_REQUEST_KEY] = request.query.get("format", "json")
    # A full disk anywhere here (the staging folder, streamed uploads, unzipping,
    # the run folder) is a 507; the finally removes what was written.
    with full_disk_is_storage_full("the disk is full: the run cannot be prepared",
                                   ["nothing was kept; retry later"]):
        # Off the event loop: a burst of POSTs is not serialized behind the disk.
        staging = await asyncio.to_thread(runfolder.staging_dir, config.runs_dir)
        try:
            return await _admit(request, kind, staging)
        finally:
            await asyncio.to_thread(shutil.rmtree, staging, ignore_errors=True)


async def _admit(request: web.Request, kind: str, staging: Path) -> PreparedRun:
    config = request.app[CONFIG_KEY]
    store = request.app[STORE_KEY]
    cluster = kind == "cluster"
    early_user = None
    if "Authorization" in request.headers or "jwt" in request.query:
        # The token came before the body: refuse a bad one before taking in any upload.
        early_user = await authenticate(request, Params(values=dict(request.query)))

    async def check_token(value: str) -> None:
        await authenticate(request, Params(values={"jwt": value}))
    token = TokenCheck(check_token, request.app[UPLOAD_GATE_KEY], done=early_user is not None)
    params = await read_params(request, config.limits, staging / "uploads", token)
    if isinstance(params.values.get("format"), str):
        request[FORMAT_REQUEST_KEY] = params.values["format"]
    user = early_user or await authenticate(request, params)
    if config.identity.unix:
        # Local and cluster runs alike execute as the user's Unix account.
        account = get_user(store, user)
        runs_as(account.unix_user if account else None, user)
    software = get_software(store, request.match_info["name"])
    run_request = parse_run_request(params, cluster=cluster,
                                    allowed_binds=config.cluster.allowed_binds)
    level = access_level(store, user, software)
    check_run_policy(config.policy, level, run_request, cluster=cluster)
    if cluster and run_request.module_list:
        # After the policy check: only callers allowed modules make us ask the tool.
        await request.app[MODULES_KEY].check(run_request.module_list)
    assert level is not None  # check_run_policy refused no access
    if cluster:
        # What the way to Slurm cannot pass, and Slurm down (nothing would run):
        # refused before anything is written.
        request.app[BACKEND_KEY].refuse_unsupported(run_request.sbatch)
        await request.app[PROBE_KEY].check()
    return await prepare_run(config, request.app[LEDGER_KEY], software, user, run_request,
                             params.files, staging, kind,
                             policy=config.policy.for_level(level),
                             max_live_runs=config.limits.max_live_runs_per_user,
                             max_stored_bytes=config.limits.max_stored_mb_per_user * 1024 * 1024)
