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

In identity mode "unix" the run folder is the task's Unix user's (the job
writes tes/ as the user; the service reads it through the group's ACL and
never writes there): the cancel request is then the service's own file in the
run's meta folder (cancel_marker), and the run folder and tes/ are reached
without following a link, so a user who swaps tes/ (or the folder) for a link
to another user's shows nothing of it.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ws_slurm.records import read_bounded

from service.runs.safe_open import run_subfolder

FOLDER = "tes"
TASK = "task.json"
PLAN = "plan.json"
CANCEL = "cancel"
META_CANCEL = "tes-cancel"  # the cancel request in the run's meta folder (mode "unix")
STARTED = "started"
ENDED = "ended"
OUTPUTS = "outputs.json"
SYSTEM_LOG = "system.log"
MAX_JSON = 4 * 1024 * 1024
MAX_LOG = 64 * 1024
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def exec_name(index: int, what: str) -> str:
    return f"exec.{index}.{what}"


def cancel_marker(folder: Path, meta: Path | None) -> Path:
    """Where the owner's cancel request is: the service's own file (in the run's
    meta folder when there is one: mode "unix")."""
    return meta / META_CANCEL if meta else folder / FOLDER / CANCEL


class TesFiles:
    """The files of one tes/ folder, read by name from its descriptor: regular
    files only (never a link), bounded; None for anything else."""

    def __init__(self, fd: int | None) -> None:
        self.fd = fd

    def read(self, name: str, limit: int) -> bytes | None:
        return None if self.fd is None else read_bounded(name, limit, self.fd)

    def tail(self, name: str, limit: int) -> str:
        """The last `limit` bytes of a file (as text; '' if none)."""
        if self.fd is None:
            return ""
        try:
            fd = os.open(name, _READ_FLAGS, dir_fd=self.fd)
        except OSError:
            return ""
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return ""
            os.lseek(fd, max(0, info.st_size - limit), os.SEEK_SET)
            return os.read(fd, limit).decode(errors="replace")
        except OSError:
            return ""
        finally:
            os.close(fd)

    def time(self, name: str) -> float | None:
        data = self.read(name, 64)
        try:
            return float(data.decode()) if data else None
        except ValueError:
            return None

    def int(self, name: str) -> int | None:
        data = self.read(name, 64)
        text = data.decode(errors="replace").strip() if data else ""
        return int(text) if text.lstrip("-").isdigit() and len(text) < 12 else None

    def json(self, name: str) -> Any:
        data = self.read(name, MAX_JSON)
        if data is None:
            return None
        try:
            return json.loads(data)
        except ValueError:
            return None


@contextmanager
def tes_files(folder: Path) -> Iterator[TesFiles]:
    """folder/tes, reached from the folder's parent (the runs folder: the
    service's, or in mode "unix" the admin's runs_dir/USER) without following a
    link at the run folder or at tes/."""
    with run_subfolder(folder, FOLDER) as found:
        yield TesFiles(found)


def read_json(folder: Path, name: str) -> Any:
    """One JSON file of the folder's tes/ (None if missing or not JSON)."""
    with tes_files(folder) as files:
        return files.json(name)


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


def read_records(files: TesFiles, executors: int, cancel: bool) -> TaskRecords:
    """`cancel`: whether the owner asked (cancel_marker is there)."""
    outputs = files.json(OUTPUTS)
    listed = tuple(o for o in outputs if isinstance(o, dict)) if isinstance(outputs, list) \
        else ()
    log = files.read(SYSTEM_LOG, MAX_LOG)
    return TaskRecords(
        cancel=cancel, started=files.time(STARTED), ended=files.time(ENDED),
        executors=tuple(ExecutorRecord(files.time(exec_name(i, "start")),
                                       files.time(exec_name(i, "end")),
                                       files.int(exec_name(i, "exit")))
                        for i in range(executors)),
        outputs=tuple({k: str(v) for k, v in o.items() if k in ("url", "path", "size_bytes")}
                      for o in listed),
        system_log=log.decode(errors="replace") if log else "")
