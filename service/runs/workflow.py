"""Generate a run's workflow files and job script (pure: text in, text out).

Every user string that reaches a script is either validated when the request is
parsed (service/runs/parameters.py) or quoted here with shlex.quote; the command
itself only reaches bash inside the container (the rule quotes it with Snakemake's `:q`)."""

from __future__ import annotations

import functools
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from ws_slurm import records

from service.runs.request import RunRequest
from service.runs.sbatch_options import mem_mb, time_minutes
from service.runs.singularity_options import inside

# Isolation: no default mounts, a clean environment, own PID and IPC namespaces;
# none of the site's `bind path` entries of apptainer.conf (often /home,
# /scratch: the service account's files), nor `mount hostfs` or the current
# folder, should a site turn them on. proc, sys, dev and the private /tmp stay:
# ordinary programs need them.
ISOLATION = ("--containall", "--no-mount", "bind-paths,hostfs,cwd")
# A network namespace with only a loopback interface (policy `network = false`).
NO_NETWORK = ("--net", "--network", "none")


# libyaml's emitter when PyYAML has it: the same YAML, a quarter of the CPU, and
# run folders are written in threads that share the GIL with the event loop.
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_DUMPER, sort_keys=False)


@dataclass(frozen=True)
class Resources:
    runtime_min: int
    mem_mb: int
    cpus: int
    network: bool = True  # false: the container gets no network (NO_NETWORK)


@dataclass(frozen=True)
class JobSettings:
    snakemake: Path
    lmod_init: Path
    module_paths: tuple[str, ...]
    job_modules: tuple[str, ...] = ()  # the site's, loaded before the run's own


def needs_prologue(request: RunRequest, settings: JobSettings) -> bool:
    return bool(request.module_list or settings.job_modules)


def profile_defaults(profile_dir: Path) -> Resources:
    """The default resources of profiles/slurm/config.yaml, read again only when
    the file changes: every POST asks, and yaml's parser took ≈ 13 ms of it."""
    path = profile_dir / "config.yaml"
    info = path.stat()
    return _read_profile_defaults(path, info.st_mtime_ns, info.st_size)


@functools.lru_cache(maxsize=8)
def _read_profile_defaults(path: Path, mtime_ns: int, size: int) -> Resources:
    data = yaml.safe_load(path.read_text()) or {}
    values: dict[str, str] = {}
    for item in data.get("default-resources", []):
        key, _, value = str(item).partition("=")
        values[key.strip()] = value.strip()
    return Resources(runtime_min=int(values.get("runtime", 10)),
                     mem_mb=int(values.get("mem_mb", 1000)),
                     cpus=int(values.get("cpus_per_task", 1)))


def resources_for(request: RunRequest, defaults: Resources) -> Resources:
    time = request.sbatch_value("time")
    mem = request.sbatch_value("mem")
    cpus = request.sbatch_value("cpus-per-task")
    return Resources(runtime_min=time_minutes(time) if time else defaults.runtime_min,
                     mem_mb=mem_mb(mem) if mem else defaults.mem_mb,
                     cpus=int(cpus) if cpus else defaults.cpus)


def effective_command(request: RunRequest) -> str:
    """`usrcmd.sh` naming an uploaded script runs that script (`./usrcmd.sh`)."""
    try:
        first = shlex.split(request.cmd)[0] if request.cmd.strip() else ""
    except ValueError:
        return request.cmd
    if first and "/" not in first and first in request.ordered_filename_list \
            and request.cmd.lstrip().startswith(first):
        return "./" + request.cmd.lstrip()
    return request.cmd


def script_to_run(request: RunRequest) -> str | None:
    command = effective_command(request)
    if command != request.cmd:
        return shlex.split(request.cmd)[0]
    return None


RESOURCE_OPTIONS = ("time", "mem", "cpus-per-task")


def workflow_config(request: RunRequest, image: str, resources: Resources) -> dict[str, Any]:
    extra = [f"--{k}={v}" for k, v in request.sbatch if k not in RESOURCE_OPTIONS]
    return {"image": image, "cmd": effective_command(request),
            "runtime_min": resources.runtime_min, "mem_mb": resources.mem_mb,
            "cpus": resources.cpus, "slurm_extra": " ".join(literal(w) for w in extra)}


def literal(word: str) -> str:
    """`word` as shell text that stays `word` through Snakemake's reading of a
    profile, which expands `$NAME` and `${NAME}` from its own environment
    (os.path.expandvars) before any shell sees it: each `$` becomes `"$"`,
    which that expansion leaves alone and bash reads as a plain `$`."""
    quoted = shlex.quote(word)
    return quoted.replace("$", "'\"$\"'") if quoted.startswith("'") else quoted


# The run's work folder as the shell that Snakemake starts from the run folder
# sees it: the workflow stays movable (a power user reruns a copy of the run
# folder elsewhere) with no path written in it. `$(pwd)`, not `$PWD`: Snakemake
# expands environment variables in profiles when it reads them, and the PWD
# variable of a process started with another working folder is stale.
WORK = '"$(pwd)"/work'


def apptainer_args(request: RunRequest, network: bool = True) -> str:
    """The Apptainer options of a run, as shell text (Snakemake puts them in the
    command line it runs). Snakemake passes `--home <run folder>` first; this
    later --home wins, so work/ is the one host folder the container sees."""
    q = literal
    words = [*ISOLATION, *(() if network else NO_NETWORK), "--home", WORK,
             *(q(o) for o in request.singularity_options)]
    for b in request.binds:
        spec = q(f"{b.source}:{b.target}" + (":ro" if b.read_only else ""))
        words += ["--bind", spec if b.source.startswith("/") else f"{WORK}/{spec}"]
    return " ".join(words)


# The whole environment of a job (besides what Slurm itself sets: SLURM_*, HOME,
# USER...): never the service's own, which holds its configuration and whatever
# its account's login left there. Job scripts source Lmod by its full path and
# find apptainer and bash on PATH.
JOB_ENVIRONMENT: tuple[tuple[str, str], ...] = (
    ("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
    ("LANG", "C.UTF-8"),
)


def job_export(environment: tuple[tuple[str, str], ...] = JOB_ENVIRONMENT) -> str:
    """sbatch's --export value naming every variable (no ALL): the job gets these
    and nothing of the submitting process's environment. Slurm splits it on commas."""
    if any("," in name + value or "=" in name for name, value in environment):
        raise ValueError("job environment values may not contain commas")
    return ",".join(f"{n}={v}" for n, v in environment) or "NIL"


def bind_check(request: RunRequest, allowed_binds: tuple[str, ...] = ()) -> str:
    """What the job script checks of each bind just before the container starts
    (ws executor's `bind-check`): a run folder bind stays in work/, a host bind in
    the allowed path it was accepted under."""
    pairs = []
    for b in request.binds:
        if b.source.startswith("/"):
            root = next((a for a in allowed_binds if inside(b.source, (a,))), b.source)
            pairs.append(f"{b.source}:{root}")
        else:
            pairs.append(f"work/{b.source}:work")
    return ",".join(pairs)


def workflow_profile(request: RunRequest, cores: int, job_name: str,
                     network: bool = True, prologue: bool | None = None,
                     allowed_binds: tuple[str, ...] = (),
                     submission: Mapping[str, str] | None = None) -> str:
    """profiles/default/config.yaml of the run: Snakemake finds it next to the
    Snakefile, so the job and a power user's rerun both use these settings
    (`submission`: the executor's settings of a run submitted by ws-as-user)."""
    data = {
        "software-deployment-method": "apptainer",
        "apptainer-args": apptainer_args(request, network),
        "cores": cores,
        "keep-incomplete": True,
        # One job: the ILP scheduler would only start its solver (a subprocess)
        # to pick it.
        "scheduler": "greedy",
        # Everything but the source cache: Snakemake binds its source cache into
        # the container, so each run keeps its own (in its temporary folder)
        # rather than sharing ~/.cache/snakemake with every other run.
        "shared-fs-usage": ["input-output", "persistence", "software-deployment",
                            "software-deployment-cache", "sources",
                            "storage-local-copies"],
        # ws's executor (plugin/, named in profiles/slurm): job scripts, Slurm ids
        # and the commands' exit records go to status/, which the container never
        # sees; every job of the run carries the run's name.
        "ws-status-dir": "status",
        "ws-job-name": job_name,
        "ws-export": job_export(),
    }
    if request.module_list if prologue is None else prologue:
        data["ws-prologue"] = PROLOGUE
    if request.binds:
        data["ws-bind-check"] = bind_check(request, allowed_binds)
    data.update(submission or {})
    return "# ws: settings of this run (generated)\n" + dump_yaml(data)


# How a run's Snakemake runs its jobs on the machine it is on (job.sh in the
# allocation, local runs): through ws's executor too, so that the same job script
# wraps the container and records the command's exit status outside of it.
RUN_HERE = ("--executor", "ws", "--ws-run-here", "--jobs", "1")
PROLOGUE = "prologue.sh"


def prologue_script(request: RunRequest, settings: JobSettings) -> str:
    """Sourced by each job script of the run before its command: the site's job
    modules (its Apptainer, say), then the run's own module_list."""
    q = shlex.quote
    lines = [
        "# ws: sourced by each job script of the run before its command (generated)",
        f"source {q(str(settings.lmod_init))} || return 91",
        *(f"module use {q(p)}" for p in settings.module_paths),
        records.record_function("status"),
        ": > logs/modules.log",
    ]
    for what, modules in (("the site's job modules", settings.job_modules),
                          ("module_list", request.module_list)):
        if not modules:
            continue
        lines += [
            f"if ! module load {' '.join(q(m) for m in modules)} >> logs/modules.log 2>&1; then",
            "  record modules.exit 1",
            f"  echo {q(f'module load failed ({what}): see logs/modules.log')} >&2",
            "  return 92",
            "fi",
        ]
    return "\n".join(lines) + "\n"


def job_script(folder: Path, settings: JobSettings, title: str) -> str:
    """The script that runs the whole workflow where it is, and records Snakemake's
    exit status. The body is in braces so bash reads it whole before running it."""
    q = shlex.quote
    lines = [
        "#!/bin/bash",
        f"# ws {title}: generated by the service, which runs it (local runs without",
        "# the warm Snakemake); Slurm could too. Snakemake's log: logs/snakemake.log",
        "{",
        f"cd {q(str(folder))} || exit 90",
        records.record_function("status"),
        f"{q(str(settings.snakemake))} --snakefile Snakefile {' '.join(RUN_HERE)} "
        "> logs/snakemake.log 2>&1",
        "rc=$?",
        'record snakemake.exit "$rc"',
        'exit "$rc"',
        "}",
    ]
    return "\n".join(lines) + "\n"
