"""TES tasks as ws cluster runs: created through the ledger (same folder, index,
quota), submitted by the same submission queue, followed by the same poller,
cancelled the same way. A caller only ever finds their own tasks: another's
answers as an unknown id does (404). The task id is not the run key (a
capability): it is safe to show."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shlex
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

from service.accounts.unix_users import runs_as
from service.accounts.users import get_user
from service.catalogue.access import access_level
from service.catalogue.softwares import Software, get_software
from service.cluster.as_user_backend import cancel_jobs
from service.cluster.backend import ClusterBackend
from service.cluster.poller import Poller
from service.cluster.probe import ControllerProbe
from service.cluster.submission_queue import SubmissionQueue
from service.core import atomic
from service.core.config import Config
from service.core.errors import (
    AccessDenied,
    InvalidParameter,
    NotFound,
    full_disk_is_storage_full,
)
from service.core.store import Store
from service.runs import folder as runfolder
from service.runs import workflow
from service.runs.folder import RunFolder
from service.runs.ledger import Ledger
from service.runs.policy import check_run_policy
from service.runs.record import RunRecord
from service.runs.request import RunRequest
from service.runs.state import NOK, RunState
from service.tes import records as rec
from service.tes.checks import CheckedTask, check_task, parse_task
from service.tes.folder import build_task_folder
from service.tes.index import TaskEntry, add_task, find_task
from service.tes.states import tes_state
from service.tes.views import StoredTask, View, executors_ignoring, task_view

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TesService:
    config: Config
    store: Store
    ledger: Ledger
    submissions: SubmissionQueue
    backend: ClusterBackend
    poller: Poller
    probe: ControllerProbe


def resolve_image(store: Store, aliases: dict[str, str], image: str) -> Software:
    """An executor's image as a registered software: an admin's alias, else the
    software's own name. Nothing is ever pulled from a registry."""
    name = aliases.get(image, image)
    try:
        return get_software(store, name)
    except NotFound:
        raise InvalidParameter(f"unknown image {image!r}", [
            "images are ws softwares (GET /api/software/list) or aliases an "
            "administrator made (tes.image_aliases); nothing is pulled from a registry"]
        ) from None


def run_request_of(checked: CheckedTask) -> RunRequest:
    """The run's request.json: what ws's own reports show of a task."""
    first = checked.plan.executors[0].command
    return RunRequest(cmd=shlex.join(first)[:4096], cmd_option="", singularity_options=(),
                      binds=(), ordered_filename_list=(), returned_type="stdout",
                      todownload=False, format="json", sbatch=checked.sbatch,
                      module_list=())


def check_access(service: TesService, user: str, checked: CheckedTask,
                 request: RunRequest) -> bool:
    """403 unless the caller may run every executor's software with these
    resources; whether the containers may have a network (all levels allow it)."""
    network = True
    for image, software in zip((e.image for e in checked.task.executors),
                               checked.softwares, strict=True):
        level = access_level(service.store, user, software)
        if level is None:
            raise AccessDenied(f"you have no access to image {image!r} "
                               f"(software {software.name})",
                               ["an administrator can grant it"])
        check_run_policy(service.config.policy, level, request, cluster=True)
        network = network and service.config.policy.for_level(level).network
    return network


async def create_task(service: TesService, user: str, body: object) -> str:
    config = service.config
    unix_user = None
    if config.identity.unix:  # as a ws run's POST: only a user mapped to a Unix user
        account = get_user(service.store, user)
        # The task's folder is made, its job submitted and cancelled as this user
        # (the ledger's placement and the backend); its files staged as them.
        unix_user = runs_as(account.unix_user if account else None, user)
    task = parse_task(body)
    aliases = config.tes.aliases()
    checked = check_task(task, lambda image: resolve_image(service.store, aliases, image),
                         config.tes.roots_of(user, unix_user), config.tes.max_content_bytes,
                         config.apptainer or "apptainer", config.tes.log_tail_bytes,
                         as_user=unix_user is not None)
    request = run_request_of(checked)
    plan = replace(checked.plan, network=check_access(service, user, checked, request))
    service.backend.refuse_unsupported(request.sbatch)
    await service.probe.check()  # Slurm down: refused before anything is written
    resources = replace(workflow.resources_for(
        request, workflow.profile_defaults(config.cluster.profile_dir)), network=plan.network)
    task_id = f"task-{secrets.token_hex(12)}"
    software = checked.softwares[0].name
    stored = StoredTask(task_id, checked.task, 0.0, software)

    def record_for(key: str, number: int, created: float) -> RunRecord:
        return RunRecord(key=key, name=software, owner=user, number=number, kind="cluster",
                         service=config.cluster.service_name, request=request,
                         created=created)

    with full_disk_is_storage_full("the disk is full: the task cannot be prepared",
                                   ["nothing was kept; retry later"]):
        staging = await asyncio.to_thread(runfolder.staging_dir, config.runs_dir)

        def build(record: RunRecord) -> Path:
            path = staging / runfolder.folder_name(record.key)
            path.mkdir()
            build_task_folder(path, final_path(config, record.key, unix_user), config, record,
                              replace(stored, created=record.created), checked, plan,
                              resources)
            return path
        try:
            _, record = await service.ledger.create(
                "cluster", software, user, record_for, build,
                config.limits.max_live_runs_per_user,
                config.limits.max_stored_mb_per_user * 1024 * 1024)
        finally:
            await asyncio.to_thread(shutil.rmtree, staging, ignore_errors=True)
    try:
        add_task(service.store, TaskEntry(task_id, record.key, user, checked.task.name or "",
                                          dict(checked.task.tags or {}), record.created))
    except Exception:
        # Not indexed, nothing submitted: the task was never made (py-tes may retry).
        service.ledger.discard(record.key)
        raise
    # From here on nothing may fail the POST: the task exists.
    service.submissions.start(record.key, record.jobname)
    log.info("TES task of run %s created", record.jobname)
    return task_id


def final_path(config: Config, key: str, unix_user: str | None) -> Path:
    """Where the task's folder will be (job.sh names it): runs_dir's, or in mode
    "unix" the Unix user's runs folder (placement.UnixPlacement)."""
    if unix_user is None:
        return runfolder.run_path(config.runs_dir, key)
    return config.identity.runs_dir / unix_user / runfolder.folder_name(key)


@dataclass(frozen=True)
class FoundTask:
    entry: TaskEntry
    stored: StoredTask
    run: RunFolder

    @property
    def folder(self) -> Path:
        return self.run.path


def find(service: TesService, user: str, task_id: str) -> FoundTask:
    entry = find_task(service.store, task_id) if len(task_id) <= 64 else None
    if entry is None or entry.owner != user:
        raise NotFound(f"unknown task {task_id!r}")
    run = service.ledger.folder(entry.key)
    data = rec.read_json(run.path, rec.TASK)
    try:
        stored = StoredTask.from_dict(data)
    except (TypeError, KeyError, ValueError):
        raise NotFound(f"unknown task {task_id!r}",
                       ["its record cannot be read by this version of ws"]) from None
    return FoundTask(entry, stored, run)


def run_state(service: TesService, key: str) -> RunState:
    try:
        return service.ledger.state_of(key)
    except (OSError, ValueError, TypeError):
        # Unreadable state: shown as a system error, never as a 5xx.
        return RunState(cr=NOK, latest_state="UNKNOWN",
                        cause="the run's state cannot be read")


def view_of(service: TesService, found: FoundTask, view: View) -> dict[str, object]:
    state = run_state(service, found.entry.key)
    tail = service.config.tes.log_tail_bytes
    cancelled = os.path.lexists(rec.cancel_marker(found.folder, found.run.meta))
    with rec.tes_files(found.folder) as files:
        records = rec.read_records(files, len(found.stored.task.executors), cancelled)
        plan_data = files.json(rec.PLAN)
        warnings = tuple(str(w) for w in plan_data.get("warnings", ())
                         ) if isinstance(plan_data, dict) else ()

        def tails(index: int) -> tuple[str, str]:
            return (files.tail(rec.exec_name(index, "stdout"), tail),
                    files.tail(rec.exec_name(index, "stderr"), tail))
        current = tes_state(state, records, executors_ignoring(found.stored.task))
        return task_view(found.stored, current, state, records, view, warnings, tails)


async def cancel(service: TesService, found: FoundTask) -> None:
    """As ws cancels a run: its Slurm jobs are cancelled (in mode "unix" as the
    run's user, cancel_jobs), the poller learns the end. The request is kept (the
    service's own file, rec.cancel_marker) so that the end reads CANCELED."""
    key = found.entry.key
    if run_state(service, key).final:
        return
    marker = rec.cancel_marker(found.folder, found.run.meta)
    await asyncio.to_thread(atomic.write_text, marker, f"{time.time()}\n")
    await service.submissions.settled(key)
    state = run_state(service, key)
    if state.jobs and not state.final:
        await cancel_jobs(service.backend, found.run, list(state.jobs))
        service.poller.wake()

