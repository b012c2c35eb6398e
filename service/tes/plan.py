"""What a task's job runs (TaskPlan), and the Apptainer command line of each
executor (pure). The plan is written to the run folder as tes/plan.json at POST
and read by the job's runner (service/tes/runner.py): no shell text is ever made
from the task, every command is an argv list.

The container sees the task's tree, work/root on the host mirroring the
container's paths: the folders of volumes and outputs bound read-write, inputs
outside them bound read-only, $HOME a folder of its own. Nothing else of the
host: ws's isolation flags (service/runs/workflow.py) are the same as a run's."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from service.runs.workflow import ISOLATION, NO_NETWORK
from service.tes.paths import HOME, under

PLAN_VERSION = 1
TREE = "work/root"  # the container's paths, on the host, under the run folder
HOME_DIR = "work/home"
EXIT_STAGE_IN = 96  # the runner's exit statuses for failures of its own (ws_slurm has 90-94)
EXIT_STAGE_OUT = 97


@dataclass(frozen=True)
class Bind:
    container: str
    read_only: bool = False

    @property
    def host(self) -> str:
        return TREE + self.container


@dataclass(frozen=True)
class ExecutorPlan:
    image: str  # the software's SIF
    command: tuple[str, ...]
    workdir: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    stdin: str | None = None  # container paths
    stdout: str | None = None
    stderr: str | None = None
    ignore_error: bool = False


@dataclass(frozen=True)
class FileInput:
    source: str  # the host path, links resolved at POST (checked again in the job)
    path: str  # in the container
    type: str = "FILE"


@dataclass(frozen=True)
class FileOutput:
    path: str  # in the container (a pattern for type GLOB)
    dest: str  # the host path under the user's roots (a folder for GLOB)
    url: str
    type: str = "FILE"  # FILE, DIRECTORY, or GLOB (a path with wildcards)
    folder: str = ""  # the container folder it is found in (bound read-write)
    prefix: str = ""  # GLOB: TES's path_prefix, cut from each match's path


@dataclass(frozen=True)
class TaskPlan:
    executors: tuple[ExecutorPlan, ...]
    binds: tuple[Bind, ...]
    inputs: tuple[FileInput, ...] = ()  # file:// ones (content is written at POST)
    outputs: tuple[FileOutput, ...] = ()
    folders: tuple[str, ...] = ()  # container folders made empty at POST (volumes...)
    roots: tuple[str, ...] = ()  # the owner's file:// roots
    network: bool = True
    apptainer: str = "apptainer"
    log_tail_bytes: int = 10 * 1024
    version: int = PLAN_VERSION
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskPlan:
        if data.get("version") != PLAN_VERSION:
            raise ValueError(f"plan version {data.get('version')!r} is not {PLAN_VERSION}")
        return cls(
            executors=tuple(ExecutorPlan(**{**e, "command": tuple(e["command"]),
                                            "env": tuple(tuple(p) for p in e["env"])})
                            for e in data["executors"]),
            binds=tuple(Bind(**b) for b in data["binds"]),
            inputs=tuple(FileInput(**i) for i in data["inputs"]),
            outputs=tuple(FileOutput(**o) for o in data["outputs"]),
            folders=tuple(data["folders"]), roots=tuple(data["roots"]),
            network=bool(data["network"]), apptainer=str(data["apptainer"]),
            log_tail_bytes=int(data["log_tail_bytes"]),
            warnings=tuple(data.get("warnings", ())))


def minimal(paths: set[str]) -> list[str]:
    """The paths that no other of them holds."""
    return sorted(p for p in paths if not any(q != p and under(p, q) for q in paths))


def binds_for(rw: set[str], ro: set[str]) -> tuple[Bind, ...]:
    """Folders written by executors (volumes, outputs' folders, stdout's), bound
    read-write; inputs not inside them, read-only. Parents before children, as
    a bind inside another needs it there first."""
    writable = minimal(rw)
    readable = minimal({p for p in ro if not any(under(p, w) for w in writable)})
    binds = [Bind(p) for p in writable] + [Bind(p, read_only=True) for p in readable]
    return tuple(sorted(binds, key=lambda b: b.container))


def apptainer_argv(plan: TaskPlan, executor: ExecutorPlan, run_dir: str) -> list[str]:
    """The executor's command line: its argv in its image, nothing added."""
    argv = [plan.apptainer, "--silent", "exec", *ISOLATION,
            *(() if plan.network else NO_NETWORK),
            "--home", f"{run_dir}/{HOME_DIR}:{HOME}"]
    if executor.workdir:
        argv += ["--pwd", executor.workdir]
    for bind in plan.binds:
        argv += ["--bind", f"{run_dir}/{bind.host}:{bind.container}"
                 + (":ro" if bind.read_only else "")]
    return [*argv, executor.image, *executor.command]


def apptainer_env(executor: ExecutorPlan) -> dict[str, str]:
    """The executor's env, as Apptainer passes it into a clean environment."""
    return {f"APPTAINERENV_{name}": value for name, value in executor.env}
