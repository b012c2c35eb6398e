"""A task's TES state from the run's state and its runner's records, and the three
views exactly as TES v1.1 defines them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from service.runs.state import NOK, OK, RunState
from service.tes.models import TesState, TesTask
from service.tes.records import ExecutorRecord, TaskRecords
from service.tes.states import tes_state
from service.tes.views import StoredTask, View, parse_view, rfc3339, task_view

NONE = TaskRecords(cancel=False, started=None, ended=None, executors=(), outputs=(),
                   system_log="")


def records(*exits: int | None, cancel: bool = False, started: bool = True) -> TaskRecords:
    return replace(NONE, cancel=cancel, started=10.0 if started else None,
                   executors=tuple(ExecutorRecord(11.0, 12.0 if e is not None else None, e)
                                   for e in exits))


LIVE = RunState(jobs=(7,))


@pytest.mark.parametrize("state,recs,expected", [
    (RunState(), NONE, TesState.QUEUED),  # its job not yet in Slurm
    (replace(LIVE, latest_state="PENDING"), NONE, TesState.QUEUED),
    (replace(LIVE, latest_state="CONFIGURING"), NONE, TesState.QUEUED),
    (replace(LIVE, latest_state="REQUEUED"), NONE, TesState.QUEUED),
    (replace(LIVE, latest_state="RUNNING"), records(started=True), TesState.INITIALIZING),
    (replace(LIVE, latest_state="RUNNING"), records(None), TesState.RUNNING),
    (replace(LIVE, latest_state="SUSPENDED"), records(None), TesState.PAUSED),
    (replace(LIVE, latest_state="RUNNING"), records(None, cancel=True), TesState.CANCELING),
    (replace(LIVE, cr=OK, latest_state="COMPLETED"), records(0, 0), TesState.COMPLETE),
    (replace(LIVE, cr=OK, latest_state="COMPLETED"), records(2, 0), TesState.COMPLETE),
    (replace(LIVE, cr=NOK, latest_state="FAILED"), records(0, 3), TesState.EXECUTOR_ERROR),
    (replace(LIVE, cr=NOK, latest_state="TIMEOUT"), records(None), TesState.SYSTEM_ERROR),
    (replace(LIVE, cr=NOK, latest_state="OUT_OF_MEMORY"), records(137),
     TesState.SYSTEM_ERROR),
    (replace(LIVE, cr=NOK, latest_state="NODE_FAIL"), records(None), TesState.SYSTEM_ERROR),
    (replace(RunState(), cr=NOK, latest_state="NOT_SUBMITTED"), NONE, TesState.SYSTEM_ERROR),
    (replace(LIVE, cr=NOK, latest_state="FAILED"), records(), TesState.SYSTEM_ERROR),
    (replace(LIVE, cr=NOK, latest_state="CANCELLED"), records(None, cancel=True),
     TesState.CANCELED),
    (replace(LIVE, cr=NOK, latest_state="CANCELLED"), records(None), TesState.SYSTEM_ERROR),
    (replace(LIVE, cr=NOK, latest_state="PREEMPTED"), records(None), TesState.PREEMPTED),
])
def test_states(state: RunState, recs: TaskRecords, expected: TesState) -> None:
    # Executor 0 of the two-executor cases has ignore_error.
    assert tes_state(state, recs, (True, False)) == expected


def test_a_live_task_is_never_unknown() -> None:
    for latest in ("PENDING", "RUNNING", "COMPLETING", "COMPLETED", "WHATEVER", "UNKNOWN"):
        state = replace(LIVE, latest_state=latest)
        assert tes_state(state, records(None), ()) != TesState.UNKNOWN


TASK = TesTask.model_validate({
    "name": "n", "tags": {"a": "b"},
    "inputs": [{"path": "/data/x", "content": "secret"}],
    "executors": [{"image": "debian", "command": ["cat", "/data/x"]}]})
STORED = StoredTask("task-1", TASK, 1_700_000_000.0, "sw_example")


def view(which: View) -> dict[str, object]:
    state = replace(LIVE, cr=OK, latest_state="COMPLETED", updated=1_700_000_010.0)
    recs = replace(records(0), ended=13.0, outputs=({"url": "file:///o", "path": "/o",
                                                     "size_bytes": "3"},))
    return task_view(STORED, TesState.COMPLETE, state, recs, which, ("a warning",),
                     lambda i: ("out", "err"))


def test_minimal_is_id_and_state() -> None:
    assert view(View.MINIMAL) == {"id": "task-1", "state": "COMPLETE"}


def test_basic_leaves_out_outputs_of_executors_content_and_system_logs() -> None:
    basic = view(View.BASIC)
    assert basic["inputs"] == [{"path": "/data/x", "type": "FILE"}]
    log = basic["logs"][0]  # type: ignore[index]
    assert "system_logs" not in log
    assert log["logs"] == [{"start_time": rfc3339(11.0), "end_time": rfc3339(12.0),
                            "exit_code": 0}]
    assert log["metadata"] == {"slurm_job_ids": "7", "slurm_state": "COMPLETED",
                               "ws_software": "sw_example"}
    assert log["outputs"] == [{"url": "file:///o", "path": "/o", "size_bytes": "3"}]
    assert basic["creation_time"] == "2023-11-14T22:13:20.000+00:00"
    assert basic["tags"] == {"a": "b"} and basic["name"] == "n"


def test_full_holds_everything() -> None:
    full = view(View.FULL)
    assert full["inputs"][0]["content"] == "secret"  # type: ignore[index]
    log = full["logs"][0]  # type: ignore[index]
    assert log["logs"][0]["stdout"] == "out" and log["logs"][0]["stderr"] == "err"
    assert log["system_logs"][:2] == ["slurm job 7", "slurm state COMPLETED"]
    assert "a warning" in log["system_logs"]


def test_views_are_named() -> None:
    assert parse_view(None) == View.MINIMAL
    with pytest.raises(Exception, match="bad view"):
        parse_view("ALL")
