"""Every aiohttp application key, typed, in one place."""

from __future__ import annotations

from aiohttp import web

from service.config import Config
from service.local_runner import LocalRunner
from service.poller import Poller
from service.store import Store
from service.submit import Submitter

CONFIG_KEY = web.AppKey("config", Config)
STORE_KEY = web.AppKey("store", Store)
JWT_SECRET_KEY = web.AppKey("jwt_secret", str)
POLLER_KEY = web.AppKey("poller", Poller)
SUBMITTER_KEY = web.AppKey("submitter", Submitter)
LOCAL_RUNNER_KEY = web.AppKey("local_runner", LocalRunner)
