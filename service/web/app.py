"""The application factory: create_app(config) -> web.Application."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence

from aiohttp import web

from service.accounts.secrets import jwt_secret
from service.accounts.throttle import LoginThrottle
from service.cluster.backend import ClusterBackend, backend_for
from service.cluster.cancels import Cancels
from service.cluster.disk_watch import DiskWatch
from service.cluster.modules import ModuleCatalogue
from service.cluster.poller import Poller
from service.cluster.probe import ControllerProbe
from service.cluster.reconcile import Reconciler, SlurmByName
from service.cluster.submission_queue import SubmissionQueue
from service.cluster.unix_mode import (
    backend_for_mode,
    end_marks_for,
    placement_for,
    users_of_live_runs,
)
from service.core.config import Config
from service.core.store import SERVICE_BUSY_TIMEOUT_MS, Store
from service.local.as_user_launch import runner_for_mode
from service.runs.ledger import Ledger
from service.runs.retention import run_retention
from service.web.handlers import (
    access,
    admin,
    catalogue,
    cluster_runs,
    download,
    jwt,
    local_runs,
    my_runs,
    pages,
    tes,
)
from service.web.keys import (
    BACKEND_KEY,
    CANCELS_KEY,
    CONFIG_KEY,
    JWT_SECRET_KEY,
    LARGE_ANSWERS_KEY,
    LEDGER_KEY,
    LOCAL_RUNNER_KEY,
    LOGIN_THROTTLE_KEY,
    MODULES_KEY,
    POLLER_KEY,
    PROBE_KEY,
    STORE_KEY,
    SUBMISSION_QUEUE_KEY,
    UPLOAD_GATE_KEY,
)
from service.web.large_answers import LargeAnswers
from service.web.middleware import error_middleware
from service.web.params import UploadGate

HANDLER_MODULES = (jwt, catalogue, access, admin, cluster_runs, download, local_runs, my_runs,
                   pages, tes)


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG_KEY]
    for folder in (config.runs_dir, config.downloads_dir):
        folder.mkdir(parents=True, exist_ok=True)
    store = Store(config.database, SERVICE_BUSY_TIMEOUT_MS)
    app[STORE_KEY] = store
    ledger = Ledger(store, config.runs_dir, placement=placement_for(config, store))
    # Runs submitted before a restart are followed again; local runs it cut off end.
    await ledger.load()
    app[LEDGER_KEY] = ledger
    yield
    ledger.close()
    store.close()


async def _poller_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG_KEY]
    poller = Poller(app[LEDGER_KEY], config.cluster, app[BACKEND_KEY],
                    marks=end_marks_for(config))
    app[POLLER_KEY] = poller
    app[CANCELS_KEY] = Cancels(app[BACKEND_KEY], poller)  # batched: one scancel for many
    task = asyncio.create_task(poller.run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await app[CANCELS_KEY].close()
    await app[BACKEND_KEY].close()  # the DRMAA session, say


async def _submissions_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cluster runs' submissions, behind their POSTs' answers (after the poller,
    which follows their jobs, and the warm Snakemake, which runs their workflows)."""
    await app[PROBE_KEY].start()
    submissions = SubmissionQueue(app[BACKEND_KEY], app[LEDGER_KEY], app[POLLER_KEY])
    app[SUBMISSION_QUEUE_KEY] = submissions
    # Runs a restart left without job ids or unfollowed, at once and then now and then.
    reconciler = Reconciler(app[LEDGER_KEY], submissions,
                            app[CONFIG_KEY].cluster.reconcile_interval_s,
                            slurm_names=SlurmByName(_job_users(app)))
    task = asyncio.create_task(reconciler.run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await submissions.stop()


async def _disk_watch_ctx(app: web.Application) -> AsyncIterator[None]:
    """Running runs' folders, measured against limits.max_run_mb (0: none)."""
    limits = app[CONFIG_KEY].limits
    if limits.max_run_mb <= 0:
        yield
        return
    watch = DiskWatch(app[LEDGER_KEY], app[BACKEND_KEY], limits, app[LOCAL_RUNNER_KEY])
    task = asyncio.create_task(watch.run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _local_runner_ctx(app: web.Application) -> AsyncIterator[None]:
    runner = app[LOCAL_RUNNER_KEY]
    await runner.start()
    yield
    await runner.stop()


async def _retention_ctx(app: web.Application) -> AsyncIterator[None]:
    """The retention task for the app's lifetime (retention_days <= 0: none)."""
    config = app[CONFIG_KEY]
    if config.limits.retention_days <= 0:
        yield
        return
    task = asyncio.create_task(run_retention(app[LEDGER_KEY], config))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _job_users(app: web.Application) -> Callable[[], Sequence[str]]:
    """Whose jobs Slurm is asked about: the service account's, or in identity mode
    "unix" the users' of the live runs (the ledger's, once the store is open)."""
    if not app[CONFIG_KEY].identity.unix:
        return tuple
    return lambda: users_of_live_runs(app[LEDGER_KEY])


def create_app(config: Config, backend: ClusterBackend | None = None,
               probe: ControllerProbe | None = None) -> web.Application:
    """The service. `backend` and `probe` are its ways to the cluster: the
    configured ones by default, fakes at that boundary in unit tests."""
    # Bodies other than multipart (streamed with their own limits) stay small.
    app = web.Application(middlewares=[error_middleware], client_max_size=2 * 1024 * 1024)
    app[CONFIG_KEY] = config
    app[JWT_SECRET_KEY] = jwt_secret(config)
    # identity mode "unix": local runs as their users too (local/as_user_launch.py)
    runner = runner_for_mode(config)
    app[LOCAL_RUNNER_KEY] = runner
    # Jobs reach Slurm and are followed through cluster.backend (ConfigError if it
    # cannot work: the service does not start); their workflows run from the warm
    # Snakemake too (ws's executor).
    # identity mode "unix": submitted and cancelled as each run's Unix user.
    app[BACKEND_KEY] = backend or backend_for_mode(config, backend_for(
        config.cluster, runner, end_marks=end_marks_for(config), users=_job_users(app)))
    app[PROBE_KEY] = probe or ControllerProbe()
    app[UPLOAD_GATE_KEY] = UploadGate(config.limits.max_unauthenticated_uploads)
    app[LARGE_ANSWERS_KEY] = LargeAnswers(config.limits.max_large_answers)
    app[LOGIN_THROTTLE_KEY] = LoginThrottle(config.auth.login_burst,
                                            config.auth.login_per_minute,
                                            config.auth.login_concurrent_hashes)
    app.cleanup_ctx.append(_store_ctx)
    app.cleanup_ctx.append(_poller_ctx)
    app.cleanup_ctx.append(_retention_ctx)
    app.cleanup_ctx.append(_disk_watch_ctx)
    app[MODULES_KEY] = ModuleCatalogue.from_config(config.cluster)
    app.cleanup_ctx.append(_local_runner_ctx)
    app.cleanup_ctx.append(_submissions_ctx)
    for module in HANDLER_MODULES:
        app.add_routes(module.routes.table)
    return app
