"""Prepare a run folder, completely, before anything runs.

The folder is built inside a staging folder and renamed into place at the end,
so a rejected request leaves nothing behind and a published folder is whole."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from service.catalogue.softwares import Software
from service.core import atomic
from service.core.config import Config, LevelPolicy
from service.core.errors import InvalidParameter, NotFound
from service.core.params import UploadedFile
from service.core.store import Store
from service.runs import folder as runfolder
from service.runs import workflow
from service.runs.folder import RunFolder
from service.runs.record import RunRecord
from service.runs.request import RunRequest
from service.runs.singularity_options import inside
from service.runs.state import ENDED_NOK, NOK, RunState


@dataclass(frozen=True)
class PreparedRun:
    folder: RunFolder
    record: RunRecord
    resources: workflow.Resources
    policy: LevelPolicy = field(default_factory=LevelPolicy)  # bounds of a local run


def _write_workflow(path: Path, final: Path, config: Config, record: RunRecord,
                    software: Software, resources: workflow.Resources) -> None:
    """Write the workflow into `path`; job.sh gets the path it will have at `final`
    (the workflow itself names no path of the run folder: it can be moved)."""
    template = config.workflows_dir / "run_command"
    for item in ("Snakefile", "rules", "schemas"):
        src = template / item
        if src.is_dir():
            shutil.copytree(src, path / item)
        else:
            shutil.copyfile(src, path / item)
    wf_config = workflow.workflow_config(record.request, software.container.image, resources)
    atomic.write_text(path / "config.yaml",
                      "# ws: configuration of this run (generated)\n"
                      + workflow.dump_yaml(wf_config), durable=False)
    settings = workflow.JobSettings(snakemake=config.snakemake,
                                    lmod_init=config.cluster.lmod_init,
                                    module_paths=config.cluster.module_paths,
                                    job_modules=config.cluster.job_modules)
    prologue = workflow.needs_prologue(record.request, settings)
    (path / "profiles" / "default").mkdir(parents=True)
    atomic.write_text(path / "profiles" / "default" / "config.yaml",
                      workflow.workflow_profile(record.request, resources.cpus,
                                                record.jobname, resources.network,
                                                prologue),
                      durable=False)
    if prologue:
        atomic.write_text(path / workflow.PROLOGUE,
                          workflow.prologue_script(record.request, settings), durable=False)
    atomic.write_text(path / "job.sh",
                      workflow.job_script(final, settings, f"run {record.jobname}"),
                      mode=0o755, durable=False)


def _build(staging: Path, config: Config, record: RunRecord, software: Software,
           files: list[UploadedFile], resources: workflow.Resources) -> Path:
    path = staging / record.key
    path.mkdir()
    for sub in ("status", "logs", "work"):
        (path / sub).mkdir()
    runfolder.treat_inputs(path / "work", record.request.ordered_filename_list, files,
                           config.limits)
    script = workflow.script_to_run(record.request)
    if script and (path / "work" / script).is_file():
        (path / "work" / script).chmod(0o755)
    _write_workflow(path, config.runs_dir / record.key, config, record, software, resources)
    atomic.write_json(path / "request.json", record.to_dict(), durable=False)
    atomic.write_json(path / "state.json", RunState(updated=time.time()).to_dict(),
                      durable=False)
    return path


def _build_durably(staging: Path, config: Config, record: RunRecord, software: Software,
                   files: list[UploadedFile], resources: workflow.Resources) -> RunFolder:
    """Build, sync and publish the folder, off the event loop: POST answers once
    the run is on disk for good (its files, then the rename into runs_dir), and a
    burst of POSTs syncs in the thread pool, sharing the file system's commits,
    instead of one after the other on the event loop."""
    built = _build(staging, config, record, software, files, resources)
    atomic.sync_tree(built)
    folder = runfolder.publish(built, config.runs_dir, record.key)
    atomic.sync_dir(config.runs_dir)
    return folder


def check_host_binds(request: RunRequest, allowed: tuple[str, ...]) -> None:
    """A host bind's source, links resolved, must still be under an allowed path:
    runrequest.py checked the spelling, this checks where it really leads."""
    roots = tuple(os.path.realpath(a) for a in allowed)
    for bind in request.binds:
        if not bind.source.startswith("/"):
            continue
        real = os.path.realpath(bind.source)
        if not os.path.exists(real) or not inside(real, roots):
            raise InvalidParameter(f"bind source {bind.source!r} is not allowed",
                                   ["it does not exist, or a link leads it out of the "
                                    f"allowed host paths: {', '.join(allowed)}"])


async def prepare_run(config: Config, store: Store, software: Software, owner: str,
                      request: RunRequest, files: list[UploadedFile], staging: Path,
                      kind: str, policy: LevelPolicy | None = None) -> PreparedRun:
    """Write the whole run folder and publish it under runs_dir/<key>. `policy`:
    the caller's level's (whether the container has a network, local bounds)."""
    policy = policy or LevelPolicy()
    runfolder.check_files_order(request.ordered_filename_list, files)
    check_host_binds(request, config.cluster.allowed_binds)
    key = runfolder.new_key()
    number = store.add_run(key, software.name, owner, kind)
    record = RunRecord(key=key, name=software.name, owner=owner, number=number, kind=kind,
                       service=config.cluster.service_name, request=request,
                       created=time.time())
    resources = replace(workflow.resources_for(
        request, workflow.profile_defaults(config.cluster.profile_dir)),
        network=policy.network)
    try:
        # The folder is built in <runs_dir>/.staging/<id>/<key>, beside the uploads,
        # and renamed into <runs_dir>/<key>: one file system, one atomic rename.
        folder = await asyncio.to_thread(_build_durably, staging, config, record, software,
                                         files, resources)
    except BaseException:
        store.remove_run(key)
        runfolder.remove(config.runs_dir / key)  # published, then a sync failed
        raise
    return PreparedRun(folder, record, resources, policy)


def load_record(folder: RunFolder) -> RunRecord:
    """The run's record; NotFound (never a crash) for one that cannot be read:
    missing, damaged, or written by another version of ws."""
    try:
        data = atomic.read_json(folder.request_file)
        if not isinstance(data, dict):
            raise ValueError("request.json is not an object")
        return RunRecord.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise NotFound("unknown run key",
                       ["the run's record cannot be read by this version of ws"]) from e


def load_state(folder: RunFolder) -> RunState:
    return RunState.from_dict(atomic.read_json(folder.state_file))


def save_state(folder: RunFolder, state: RunState) -> None:
    atomic.write_json(folder.state_file, state.to_dict())


def discard(store: Store, folder: RunFolder) -> None:
    """Forget a run that never ran (Slurm refused it, no local slot): no trace."""
    store.remove_run(folder.key)
    runfolder.remove(folder.path)


def end_interrupted_local_runs(store: Store, runs_dir: Path) -> None:
    """At start: a local run still WAIT was cut off by a restart (nothing runs it
    any more, unlike a cluster run): end it, with that cause."""
    for entry in store.live_runs("local"):
        folder = RunFolder(runs_dir / entry.key)
        try:
            state = load_state(folder)
        except (OSError, ValueError):
            state = RunState()
        ended = state.moved_to(cr=NOK, latest_cr=ENDED_NOK,
                               cause="the service restarted during the run")
        with contextlib.suppress(OSError):
            save_state(folder, ended)
        store.set_run_cr(entry.key, NOK)
