"""A TES task checked, before anything is written: every path, URL, image and
resource; what is refused is refused with its reason (400 malformed or not
supported, 403 not allowed, 413 too large). The result is what the run folder
is built from (CheckedTask)."""

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import ValidationError

from service.catalogue.softwares import Software
from service.core.errors import InvalidParameter, TooLarge
from service.runs.sbatch_options import check_value
from service.tes import paths as p
from service.tes.models import FileType, TesOutput, TesTask
from service.tes.plan import ExecutorPlan, FileInput, FileOutput, TaskPlan, binds_for

ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}", re.ASCII)
WILDCARDS = re.compile(r"[*?\[]")
PATTERN_SIGNS = re.compile(r"[*?\[\]!]")
# backend_parameters ws knows (keys are case-insensitive): sbatch options.
BACKEND_PARAMETERS = ("time", "partition", "qos")


@dataclass(frozen=True)
class CheckedTask:
    task: TesTask  # as stored and shown: unsupported backend_parameters dropped
    plan: TaskPlan
    softwares: tuple[Software, ...]  # each executor's
    contents: tuple[tuple[str, str], ...]  # (container path, content)
    sbatch: tuple[tuple[str, str], ...]  # validated sbatch options


def parse_task(data: object) -> TesTask:
    if not isinstance(data, dict):
        raise InvalidParameter("the body must be a JSON object: a tesTask")
    try:
        return TesTask.model_validate(data)
    except ValidationError as e:
        raise InvalidParameter("the task is not a valid tesTask", [
            f"{'.'.join(str(x) for x in err['loc']) or 'task'}: {err['msg']}"
            for err in e.errors()[:20]]) from None


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _no_nul(task: TesTask) -> None:
    # No argv, path or environment value can hold one.
    if _has_nul(task.model_dump()):
        raise InvalidParameter("the task holds a NUL character")


def _std(name: str, value: str | None, index: int) -> str | None:
    return None if value is None else p.container_path(f"executors[{index}].{name}", value)


def check_executors(task: TesTask, resolve: Callable[[str], Software]
                    ) -> tuple[tuple[ExecutorPlan, ...], tuple[Software, ...]]:
    plans, softwares = [], []
    for i, ex in enumerate(task.executors):
        software = resolve(ex.image)
        env = tuple((ex.env or {}).items())
        for name, _ in env:
            if not ENV_NAME_RE.fullmatch(name):
                raise InvalidParameter(f"executors[{i}].env: bad variable name {name!r}",
                                       ["letters, digits and _, not starting with a digit"])
        workdir = None if ex.workdir is None else p.container_path(
            f"executors[{i}].workdir", ex.workdir)
        plans.append(ExecutorPlan(
            image=software.container.image, command=tuple(ex.command), workdir=workdir,
            env=env, stdin=_std("stdin", ex.stdin, i), stdout=_std("stdout", ex.stdout, i),
            stderr=_std("stderr", ex.stderr, i), ignore_error=bool(ex.ignore_error)))
        softwares.append(software)
    return tuple(plans), tuple(softwares)


def check_resources(task: TesTask) -> tuple[TesTask, tuple[tuple[str, str], ...],
                                            list[str]]:
    """sbatch options from `resources`, the task without the backend_parameters
    ws does not know (TES: not stored, not returned), and warnings for them."""
    res = task.resources
    if res is None:
        return task, (), []
    sbatch: list[tuple[str, str]] = []
    warnings = []
    if res.cpu_cores is not None:
        sbatch.append(("cpus-per-task", str(res.cpu_cores)))
    if res.ram_gb is not None:
        sbatch.append(("mem", f"{math.ceil(res.ram_gb * 1024)}M"))
    if res.disk_gb:
        warnings.append("resources.disk_gb is not enforced: tasks write to the run folder")
    if res.zones:
        warnings.append("resources.zones is ignored: name a partition in "
                        "backend_parameters instead")
    known = {}
    for key, value in (res.backend_parameters or {}).items():
        option = key.lower()
        if option not in BACKEND_PARAMETERS:
            if res.backend_parameters_strict:
                raise InvalidParameter(f"backend parameter {key!r} is not supported",
                                       [f"supported: {', '.join(BACKEND_PARAMETERS)}"])
            warnings.append(f"backend parameter {key!r} is not supported: ignored")
            continue
        sbatch.append((option, check_value(option, value)))
        known[key] = value
    stored = res.model_copy(update={"backend_parameters": known or None}) \
        if res.backend_parameters else res
    return task.model_copy(update={"resources": stored}), tuple(sbatch), warnings


def inside(what: str, path: str, roots: tuple[str, ...], as_user: bool) -> str:
    """A file:// path under the caller's roots: resolved by the service (identity
    mode "service", whose job reads and writes as the service), or as written
    (mode "unix": the job resolves it as the user, with the user's permissions)."""
    return (p.plain_inside_roots if as_user else p.inside_roots)(what, path, roots)


def check_files(task: TesTask, roots: tuple[str, ...], max_content: int,
                as_user: bool = False
                ) -> tuple[list[tuple[str, str]], list[FileInput], list[FileOutput]]:
    contents, inputs, outputs = [], [], []
    seen: set[str] = set()
    for i, item in enumerate(task.inputs or ()):
        what = f"inputs[{i}]"
        path = p.container_path(f"{what}.path", item.path)
        if path in seen:
            raise InvalidParameter(f"{what}.path {path!r} is given twice")
        seen.add(path)
        if item.content:
            if item.type == FileType.DIRECTORY:
                raise InvalidParameter(f"{what}: content makes a file, not a DIRECTORY")
            if len(item.content.encode()) > max_content:
                raise TooLarge(f"{what}.content is over {max_content} bytes",
                               ["give larger inputs as file:// URLs under your roots"])
            p.parent(path)
            contents.append((path, item.content))
            continue
        if not item.url:
            raise InvalidParameter(f"{what} has neither url nor content")
        real = inside(f"{what}.url", p.url_path(f"{what}.url", item.url), roots, as_user)
        if not as_user:  # as the user, only the job may look (it fails the task)
            p.check_input_source(f"{what}.url", real, item.type)
        if item.type == FileType.FILE:
            p.parent(path)
        inputs.append(FileInput(real, path, item.type.value))
    for i, out in enumerate(task.outputs or ()):
        outputs.append(check_output(f"outputs[{i}]", out, roots, as_user))
    return contents, inputs, outputs


def check_output(what: str, out: TesOutput, roots: tuple[str, ...],
                 as_user: bool = False) -> FileOutput:
    dest = inside(f"{what}.url", p.url_path(f"{what}.url", out.url), roots, as_user)
    if not WILDCARDS.search(out.path):
        path = p.container_path(f"{what}.path", out.path)
        folder = path if out.type == FileType.DIRECTORY else p.parent(path)
        return FileOutput(path, dest, out.url, out.type.value, folder)
    # POSIX wildcards (TES: the url is then a folder, path_prefix cut from each match).
    p.container_path(f"{what}.path", PATTERN_SIGNS.sub("x", out.path))
    pattern = out.path.rstrip("/")
    if not out.path_prefix:
        raise InvalidParameter(f"{what}.path has wildcards: path_prefix is required")
    prefix = p.container_path(f"{what}.path_prefix", out.path_prefix)
    static = pattern[:WILDCARDS.search(pattern).start()]  # type: ignore[union-attr]
    folder = static.rstrip("/") if static.endswith("/") else posixpath.dirname(static)
    if not p.under(folder, prefix):
        raise InvalidParameter(f"{what}.path_prefix {prefix!r} does not begin its path",
                               [f"the path's folder before its wildcards is {folder!r}"])
    p.container_path(f"{what}.path", folder)
    return FileOutput(pattern, dest, out.url, "GLOB", folder, prefix)


def _check_layout(files: set[str], every: set[str]) -> None:
    """A file's path holds nothing: /data as a file and /data/x as anything clash."""
    for f in files:
        for other in every:
            if other != f and p.under(other, f):
                raise InvalidParameter(f"{f!r} is a file, yet {other!r} lies inside it")


def check_task(task: TesTask, resolve: Callable[[str], Software], roots: tuple[str, ...],
               max_content: int, apptainer: str, log_tail: int,
               as_user: bool = False) -> CheckedTask:
    """Everything but access and policy (tasks.py asks the catalogue and the
    policy of each executor's software). `as_user`: identity mode "unix", where
    the job stages files as the task's Unix user (file:// paths checked as written)."""
    _no_nul(task)
    executors, softwares = check_executors(task, resolve)
    task, sbatch, warnings = check_resources(task)
    contents, inputs, outputs = check_files(task, roots, max_content, as_user)
    volumes = {p.container_path(f"volumes[{i}]", v) for i, v in enumerate(task.volumes or ())}
    std_out = {s for e in executors for s in (e.stdout, e.stderr) if s}
    rw = volumes | {p.parent(s) for s in std_out} | {o.folder for o in outputs}
    ro = {c for c, _ in contents} | {i.path for i in inputs}
    files = ({c for c, _ in contents} | {i.path for i in inputs if i.type == "FILE"}
             | {o.path for o in outputs if o.type == "FILE"} | std_out)
    _check_layout(files, rw | ro | files)
    binds = binds_for(rw, ro)
    for i, e in enumerate(executors):
        if e.stdin and e.stdin not in ro and not any(p.under(e.stdin, b.container)
                                                     for b in binds):
            raise InvalidParameter(f"executors[{i}].stdin {e.stdin!r} is no input and in "
                                   "no volume")
    folders = tuple(sorted(rw | {i.path for i in inputs if i.type == "DIRECTORY"}))
    plan = TaskPlan(executors=executors, binds=binds, inputs=tuple(inputs),
                    outputs=tuple(outputs), folders=folders, roots=roots,
                    apptainer=apptainer, log_tail_bytes=log_tail, warnings=tuple(warnings))
    return CheckedTask(task, plan, softwares, tuple(contents), sbatch)
