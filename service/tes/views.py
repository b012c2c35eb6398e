"""A task as GET answers it, in the view asked for, exactly as TES v1.1 defines
them: MINIMAL id and state; BASIC all but executors' stdout and stderr, inputs'
content and system_logs; FULL everything (pure but for reading output tails)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from service.core.errors import InvalidParameter
from service.runs.state import RunState
from service.tes.models import TesState, TesTask
from service.tes.records import TaskRecords


class View(StrEnum):
    MINIMAL = "MINIMAL"
    BASIC = "BASIC"
    FULL = "FULL"


@dataclass(frozen=True)
class StoredTask:
    """tes/task.json: the task as POSTed (checked), its id and creation time."""

    id: str
    task: TesTask
    created: float
    software: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "created": self.created, "software": self.software,
                "task": self.task.model_dump(mode="json", exclude_none=True)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoredTask:
        return cls(id=str(data["id"]), task=TesTask.model_validate(data["task"]),
                   created=float(data["created"]), software=str(data.get("software", "")))


def rfc3339(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")


def parse_view(value: str | None) -> View:
    try:
        return View(value or "MINIMAL")
    except ValueError:
        raise InvalidParameter(f"bad view {value!r}", ["MINIMAL, BASIC or FULL"]) from None


def _system_logs(state: RunState, records: TaskRecords, warnings: tuple[str, ...]) -> list[str]:
    lines = [f"slurm job {j}" for j in state.jobs]
    lines.append(f"slurm state {state.latest_state}")
    if state.cause:
        lines.append(f"ws: {state.cause}")
    lines += list(warnings)
    lines += [line for line in records.system_log.splitlines() if line.strip()]
    return lines


def task_log(state: RunState, records: TaskRecords, view: View, software: str,
             warnings: tuple[str, ...], tails: Callable[[int], tuple[str, str]]
             ) -> dict[str, Any]:
    full = view == View.FULL
    logs = []
    for index, executor in enumerate(records.executors):
        if executor.start is None:
            break
        entry: dict[str, Any] = {"start_time": rfc3339(executor.start),
                                 "end_time": rfc3339(executor.end),
                                 "exit_code": executor.exit}
        if full:
            entry["stdout"], entry["stderr"] = tails(index)
        logs.append({k: v for k, v in entry.items() if v is not None})
    metadata = {"slurm_job_ids": ",".join(map(str, state.jobs)),
                "slurm_state": state.latest_state, "ws_software": software}
    log: dict[str, Any] = {
        "logs": logs, "metadata": metadata,
        "start_time": rfc3339(records.started),
        "end_time": rfc3339(records.ended if records.ended is not None
                            else state.updated if state.final else None),
        "outputs": list(records.outputs),
    }
    if full:
        log["system_logs"] = _system_logs(state, records, warnings)
    return {k: v for k, v in log.items() if v is not None}


def task_view(stored: StoredTask, state: TesState, run_state: RunState,
              records: TaskRecords, view: View, warnings: tuple[str, ...],
              tails: Callable[[int], tuple[str, str]]) -> dict[str, Any]:
    if view == View.MINIMAL:
        return {"id": stored.id, "state": state.value}
    doc = stored.task.model_dump(mode="json", exclude_none=True)
    if view == View.BASIC:
        for item in doc.get("inputs", ()):
            item.pop("content", None)
    return {"id": stored.id, "state": state.value, **doc,
            "logs": [task_log(run_state, records, view, stored.software, warnings, tails)],
            "creation_time": rfc3339(stored.created)}


def executors_ignoring(task: TesTask) -> tuple[bool, ...]:
    return tuple(bool(e.ignore_error) for e in task.executors)


__all__ = ["StoredTask", "TesState", "View", "parse_view", "task_view"]
