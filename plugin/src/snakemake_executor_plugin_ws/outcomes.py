"""A job's outcome (pure): what Slurm says of it, and the exit record its script
left, turned into running, success or failure."""

from ws_slurm.states import FINAL

RUNNING, SUCCESS, FAILURE = "running", "success", "failure"


def outcome(state: str | None, exit_status: int | None) -> tuple[str, str]:
    """(RUNNING | SUCCESS | FAILURE, cause). Success needs both: the command exited
    0 and Slurm does not report a failure."""
    if state in FINAL and state != "COMPLETED":
        detail = "" if exit_status is None else f", command exit status {exit_status}"
        return FAILURE, f"Slurm state {state}{detail}"
    if exit_status is not None:
        if exit_status == 0:
            return SUCCESS, ""
        return FAILURE, f"command exit status {exit_status}"
    if state == "COMPLETED":
        return FAILURE, "the job COMPLETED without an exit record"
    if state is None:
        return FAILURE, "Slurm does not know the job"
    return RUNNING, ""
