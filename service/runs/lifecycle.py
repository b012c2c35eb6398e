"""Prepare a run folder, completely, before anything runs.

The folder is built inside a staging folder and renamed into place at the end,
so a rejected request leaves nothing behind and a published folder is whole."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from service.catalogue.softwares import Software
from service.core import atomic
from service.core.config import Config, LevelPolicy
from service.core.errors import InvalidParameter
from service.core.params import UploadedFile
from service.runs import folder as runfolder
from service.runs import workflow
from service.runs.folder import RunFolder
from service.runs.ledger import Ledger
from service.runs.record import RunRecord
from service.runs.request import RunRequest
from service.runs.singularity_options import inside


@dataclass(frozen=True)
class PreparedRun:
    folder: RunFolder
    record: RunRecord
    resources: workflow.Resources
    policy: LevelPolicy = field(default_factory=LevelPolicy)  # bounds of a local run


def copy_private(src: Path, dst: Path) -> None:
    """Copy the template without its modes: the run's copy is the service's alone
    (the process's umask gives 0600 files and 0700 folders; copytree would keep
    the checkout's 0644 and 0755)."""
    if src.is_dir():
        dst.mkdir()
        for child in sorted(src.iterdir()):
            copy_private(child, dst / child.name)
    else:
        shutil.copyfile(src, dst)


def submission_settings(config: Config) -> dict[str, str]:
    """Identity mode "unix": how the run's jobs reach Slurm, in the run's own
    profile, because ws-as-user submits every run as its user with one fixed command
    line that the service cannot add to. The user may change these in their folder,
    which only changes how their own jobs are submitted."""
    if not config.identity.unix:
        return {}
    settings = {"ws-backend": config.cluster.backend,
                "ws-end-marks": str(config.identity.end_marks)}
    if config.cluster.backend == "drmaa":
        settings["ws-drmaa-library"] = config.cluster.drmaa_library
    return settings


def write_job_settings(path: Path, final: Path, config: Config, record: RunRecord,
                       resources: workflow.Resources, label: str) -> None:
    """What every generated workflow's folder holds beside its Snakefile: the
    Snakemake profile of the run, the module prologue when one is needed, and
    job.sh (naming `final`, where the folder will be); `label` names it in job.sh."""
    settings = workflow.JobSettings(snakemake=config.snakemake,
                                    lmod_init=config.cluster.lmod_init,
                                    module_paths=config.cluster.module_paths,
                                    job_modules=config.cluster.job_modules)
    prologue = workflow.needs_prologue(record.request, settings)
    (path / "profiles" / "default").mkdir(parents=True)
    atomic.write_text(path / "profiles" / "default" / "config.yaml",
                      workflow.workflow_profile(record.request, resources.cpus,
                                                record.jobname, resources.network,
                                                prologue, config.cluster.allowed_binds,
                                                submission_settings(config)),
                      durable=False)
    if prologue:
        atomic.write_text(path / workflow.PROLOGUE,
                          workflow.prologue_script(record.request, settings), durable=False)
    atomic.write_text(path / "job.sh", workflow.job_script(final, settings, label),
                      mode=0o700, durable=False)


def _write_workflow(path: Path, final: Path, config: Config, record: RunRecord,
                    software: Software, resources: workflow.Resources) -> None:
    """Write the workflow into `path`; job.sh gets the path it will have at `final`
    (the workflow itself names no path of the run folder: it can be moved)."""
    template = config.workflows_dir / "run_command"
    for item in ("Snakefile", "rules", "schemas"):
        copy_private(template / item, path / item)
    wf_config = workflow.workflow_config(record.request, software.container.image, resources)
    atomic.write_text(path / "config.yaml",
                      "# ws: configuration of this run (generated)\n"
                      + workflow.dump_yaml(wf_config), durable=False)
    write_job_settings(path, final, config, record, resources, f"run {record.jobname}")


def _build(staging: Path, final: Path, config: Config, record: RunRecord,
           software: Software, files: list[UploadedFile],
           resources: workflow.Resources) -> Path:
    path = staging / runfolder.folder_name(record.key)
    path.mkdir()
    for sub in ("status", "logs", "work"):
        (path / sub).mkdir()
    runfolder.treat_inputs(path / "work", record.request.ordered_filename_list, files,
                           config.limits)
    script = workflow.script_to_run(record.request)
    if script and (path / "work" / script).is_file():
        (path / "work" / script).chmod(0o700)
    _write_workflow(path, final, config, record, software, resources)
    atomic.write_json(path / "request.json", record.to_dict(), durable=False)
    return path


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


async def prepare_run(config: Config, ledger: Ledger, software: Software, owner: str,
                      request: RunRequest, files: list[UploadedFile], staging: Path,
                      kind: str, policy: LevelPolicy | None = None,
                      max_live_runs: int | None = None,
                      max_stored_bytes: int | None = None) -> PreparedRun:
    """Write the whole run folder and publish it under runs_dir/<key>. `policy`:
    the caller's level's (whether the container has a network, local bounds);
    `max_live_runs`: the owner's live runs, this one included, at most;
    `max_stored_bytes`: what the owner's ended runs may keep on disk."""
    policy = policy or LevelPolicy()
    runfolder.check_files_order(request.ordered_filename_list, files)
    check_host_binds(request, config.cluster.allowed_binds)
    resources = replace(workflow.resources_for(
        request, workflow.profile_defaults(config.cluster.profile_dir)),
        network=policy.network)

    def record_for(key: str, number: int, created: float) -> RunRecord:
        return RunRecord(key=key, name=software.name, owner=owner, number=number,
                         kind=kind, service=config.cluster.service_name, request=request,
                         created=created)

    def build(record: RunRecord) -> Path:
        # Built in <runs_dir>/.staging/<id>/<key>, beside the uploads, to be renamed
        # into <runs_dir>/<key>: one file system, one atomic rename.
        # job.sh names where the folder will be: the placement's (unix mode: the
        # owner's Unix user's runs folder).
        final = ledger.placement.path_of(record.key)
        return _build(staging, final, config, record, software, files, resources)

    folder, record = await ledger.create(kind, software.name, owner, record_for, build,
                                         max_live_runs, max_stored_bytes)
    return PreparedRun(folder, record, resources, policy)
