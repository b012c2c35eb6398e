"""A task's TES state, from the poller's truth (the run's state, through the
ledger) and the job runner's records (pure). A live task is never UNKNOWN."""

from __future__ import annotations

from service.runs.state import OK, RunState
from service.tes.models import TesState
from service.tes.records import TaskRecords

QUEUED_SLURM = frozenset({"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_FED",
                          "REQUEUE_HOLD", "RESV_DEL_HOLD", "RESIZING"})
PAUSED_SLURM = frozenset({"SUSPENDED", "STOPPED"})
# A job's end that is the system's, whatever its command did.
SYSTEM_ENDS = frozenset({"TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "DEADLINE",
                         "CANCELLED", "NOT_SUBMITTED", "LAUNCH_FAILED", "REVOKED",
                         "SPECIAL_EXIT", "UNKNOWN"})


def failed_executor(records: TaskRecords, ignore: tuple[bool, ...]) -> int | None:
    """The first executor that exited non-zero without ignore_error."""
    for index, executor in enumerate(records.executors):
        if executor.exit not in (None, 0) and not (index < len(ignore) and ignore[index]):
            return index
    return None


def tes_state(state: RunState, records: TaskRecords, ignore: tuple[bool, ...]) -> TesState:
    latest = state.latest_state
    if not state.final:
        if records.cancel:
            return TesState.CANCELING
        if not state.jobs or latest in QUEUED_SLURM:
            return TesState.QUEUED
        if latest in PAUSED_SLURM:
            return TesState.PAUSED
        # RUNNING, COMPLETING, or over with its records awaited.
        return TesState.RUNNING if records.running_executor else TesState.INITIALIZING
    if records.cancel:
        return TesState.CANCELED
    if state.cr == OK:
        return TesState.COMPLETE
    if latest == "PREEMPTED":
        return TesState.PREEMPTED
    if latest in SYSTEM_ENDS:
        return TesState.SYSTEM_ERROR
    if failed_executor(records, ignore) is not None:
        return TesState.EXECUTOR_ERROR
    return TesState.SYSTEM_ERROR
