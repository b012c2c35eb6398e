"""Every aiohttp application key, typed, in one place."""

from __future__ import annotations

from aiohttp import web

from service.accounts.throttle import LoginThrottle
from service.cluster.backend import ClusterBackend
from service.cluster.cancels import Cancels
from service.cluster.modules import ModuleCatalogue
from service.cluster.poller import Poller
from service.cluster.probe import ControllerProbe
from service.cluster.submission_queue import SubmissionQueue
from service.core.config import Config
from service.core.store import Store
from service.local.runner import LocalRunner
from service.runs.ledger import Ledger
from service.web.large_answers import LargeAnswers
from service.web.params import UploadGate

CONFIG_KEY = web.AppKey("config", Config)
STORE_KEY = web.AppKey("store", Store)
JWT_SECRET_KEY = web.AppKey("jwt_secret", str)
LEDGER_KEY = web.AppKey("ledger", Ledger)
POLLER_KEY = web.AppKey("poller", Poller)
BACKEND_KEY = web.AppKey("backend", ClusterBackend)
CANCELS_KEY = web.AppKey("cancels", Cancels)
SUBMISSION_QUEUE_KEY = web.AppKey("submission_queue", SubmissionQueue)
PROBE_KEY = web.AppKey("probe", ControllerProbe)
LOCAL_RUNNER_KEY = web.AppKey("local_runner", LocalRunner)
MODULES_KEY = web.AppKey("modules", ModuleCatalogue)
UPLOAD_GATE_KEY = web.AppKey("upload_gate", UploadGate)
LOGIN_THROTTLE_KEY = web.AppKey("login_throttle", LoginThrottle)
LARGE_ANSWERS_KEY = web.AppKey("large_answers", LargeAnswers)
