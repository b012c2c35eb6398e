"""GA4GH TES v1.1 under /ga4gh/tes/v1 (service/tes/ does the work): service-info
(public), and the caller's tasks (Authorization: Bearer <ws token>). Errors are
ws's one error shape, with TES's statuses."""

from __future__ import annotations

import contextlib
import json

from aiohttp import web

from service.accounts.users import get_user
from service.core.errors import AuthenticationFailed, InvalidParameter
from service.core.params import Params
from service.tes.listing import ListQuery, list_tasks
from service.tes.tasks import TesService, cancel, create_task, find, run_state, view_of
from service.tes.views import parse_view
from service.web.auth import authenticate
from service.web.keys import (
    BACKEND_KEY,
    CONFIG_KEY,
    LEDGER_KEY,
    POLLER_KEY,
    PROBE_KEY,
    STORE_KEY,
    SUBMISSION_QUEUE_KEY,
)
from service.web.routing import Routes
from service.web.waiting import wait_for_change, wait_seconds

routes = Routes()
BASE = "/ga4gh/tes/v1"
TASK_ID = "{id:[^/:]+}"  # ":cancel" is no part of an id
NO_PARAMS = Params(values={})
VERSION = "1.1.0"


def _service(request: web.Request) -> TesService:
    app = request.app
    return TesService(app[CONFIG_KEY], app[STORE_KEY], app[LEDGER_KEY],
                      app[SUBMISSION_QUEUE_KEY], app[BACKEND_KEY], app[POLLER_KEY],
                      app[PROBE_KEY])


async def _user(request: web.Request) -> str:
    return await authenticate(request, NO_PARAMS)  # the Bearer header only


def roots_of(request: web.Request, user: str) -> tuple[str, ...]:
    """The caller's file:// roots (with their Unix user's name in mode "unix")."""
    config = request.app[CONFIG_KEY]
    account = get_user(request.app[STORE_KEY], user) if config.identity.unix else None
    return config.tes.roots_of(user, account.unix_user if account else None)


@routes.get(BASE + "/service-info")
async def service_info(request: web.Request) -> web.Response:
    config = request.app[CONFIG_KEY]
    storage: list[str] = []
    if "Authorization" in request.headers:
        try:
            user = await _user(request)
        except AuthenticationFailed:
            user = None  # public: a bad token just shows no roots
        if user is not None:
            storage = [f"file://{root}" for root in roots_of(request, user)]
    return web.json_response({
        "id": f"org.ws.{config.cluster.identity}.tes",
        "name": f"ws TES on {config.cluster.identity}",
        "type": {"group": "org.ga4gh", "artifact": "tes", "version": VERSION},
        "description": "GA4GH TES v1.1 onto ws's cluster runs: executors run in "
                       "registered Apptainer images on Slurm (docs/tes.md)",
        "organization": {"name": config.cluster.service_name,
                         "url": config.server.public_url},
        "version": "1",
        "documentationUrl": f"{config.server.public_url}/api/docs",
        "storage": storage,
        "tesResources_backend_parameters": ["time", "partition", "qos"],
    })


@routes.post(BASE + "/tasks")
async def post_task(request: web.Request) -> web.Response:
    user = await _user(request)
    raw = await request.read()  # over the service's body limit: 413
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidParameter("the body is not JSON", ["send a tesTask as JSON"]) from None
    task_id = await create_task(_service(request), user, body)
    return web.json_response({"id": task_id})


@routes.get(BASE + "/tasks")
async def get_tasks(request: web.Request) -> web.Response:
    user = await _user(request)
    query = ListQuery.parse(
        {k: request.query[k] for k in ("name_prefix", "state", "page_size", "page_token",
                                       "view") if k in request.query},
        {k: request.query.getall(k) for k in ("tag_key", "tag_value") if k in request.query})
    return web.json_response(list_tasks(_service(request), user, query))


@routes.get(BASE + "/tasks/" + TASK_ID)
async def get_task(request: web.Request) -> web.Response:
    user = await _user(request)
    view = parse_view(request.query.get("view"))
    seconds = wait_seconds(request.query.get("wait"))
    service = _service(request)
    found = find(service, user, request.match_info["id"])
    # Just created: its job id is known in a moment (as ws's own state calls wait).
    await service.submissions.settled(found.entry.key, timeout=2.0)
    if seconds:
        # ws's own ?wait= (not TES's): answered when the run's state changes.
        state = run_state(service, found.entry.key)
        with contextlib.suppress(OSError, ValueError, TypeError):
            await wait_for_change(service.ledger, found.entry.key, state, seconds)
    return web.json_response(view_of(service, found, view))


@routes.post(BASE + "/tasks/" + TASK_ID + ":cancel")
async def cancel_task(request: web.Request) -> web.Response:
    user = await _user(request)
    service = _service(request)
    await cancel(service, find(service, user, request.match_info["id"]))
    return web.json_response({})
