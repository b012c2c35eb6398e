"""The tes/ folder of a task's run folder: what POST writes there, what the job's
runner records there, and how the service reads it back (bounded, never
following links: the runner writes it outside the containers, but it is read
as if hostile all the same). The containers never see it.

    tes/task.json           the task as stored (id, the document, creation time)
    tes/plan.json           what the job runs (service/tes/plan.py)
    tes/cancel              the owner asked to cancel (its time)
    tes/started             the job's runner began (stage-in), a Unix time
    tes/exec.N.start|.end   executor N's times; tes/exec.N.exit its exit status
    tes/exec.N.stdout|.stderr   its whole output
    tes/ended               the runner's end
    tes/outputs.json        the outputs written: [{url, path, size_bytes}]
    tes/system.log          the runner's own messages (stage-in/out failures...)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ws_slurm.records import read_bounded

FOLDER = "tes"
TASK = "task.json"
PLAN = "plan.json"
CANCEL = "cancel"
STARTED = "started"
ENDED = "ended"
OUTPUTS = "outputs.json"
SYSTEM_LOG = "system.log"
MAX_JSON = 4 * 1024 * 1024
MAX_LOG = 64 * 1024


def exec_name(index: int, what: str) -> str:
    return f"exec.{index}.{what}"


def read_time(path: Path) -> float | None:
    data = read_bounded(str(path), 64)
    try:
        return float(data.decode()) if data else None
    except ValueError:
        return None


def read_int(path: Path) -> int | None:
    data = read_bounded(str(path), 64)
    text = data.decode(errors="replace").strip() if data else ""
    return int(text) if text.lstrip("-").isdigit() and len(text) < 12 else None


def read_json(path: Path) -> Any:
    data = read_bounded(str(path), MAX_JSON)
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


@dataclass(frozen=True)
class ExecutorRecord:
    start: float | None
    end: float | None
    exit: int | None


@dataclass(frozen=True)
class TaskRecords:
    """What the job's runner left so far."""

    cancel: bool
    started: float | None
    ended: float | None
    executors: tuple[ExecutorRecord, ...]
    outputs: tuple[dict[str, str], ...]
    system_log: str

    @property
    def running_executor(self) -> bool:
        return any(e.start is not None for e in self.executors)


def read_records(folder: Path, executors: int) -> TaskRecords:
    tes = folder / FOLDER
    outputs = read_json(tes / OUTPUTS)
    listed = tuple(o for o in outputs if isinstance(o, dict)) if isinstance(outputs, list) \
        else ()
    log = read_bounded(str(tes / SYSTEM_LOG), MAX_LOG)
    return TaskRecords(
        cancel=os.path.lexists(tes / CANCEL),
        started=read_time(tes / STARTED), ended=read_time(tes / ENDED),
        executors=tuple(ExecutorRecord(read_time(tes / exec_name(i, "start")),
                                       read_time(tes / exec_name(i, "end")),
                                       read_int(tes / exec_name(i, "exit")))
                        for i in range(executors)),
        outputs=tuple({k: str(v) for k, v in o.items() if k in ("url", "path", "size_bytes")}
                      for o in listed),
        system_log=log.decode(errors="replace") if log else "")
