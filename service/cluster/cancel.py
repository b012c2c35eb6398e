"""Cancelling a run's Slurm jobs (cli_backend's scancel, until the handler asks the
ClusterBackend). A run may have several job ids (read from its state, never assumed one);
the poller then sees them CANCELLED and ends the run NOK with that cause."""

from __future__ import annotations

from collections.abc import Iterable

from service.cluster import slurm
from service.cluster.cli_backend import cancel_with_scancel
from service.runs.state import RunState


def job_ids_of(state: RunState) -> list[int]:
    """Every Slurm job id of a run: `job_ids` when the state has several, else `job_id`."""
    several = getattr(state, "job_ids", None)
    ids = [int(i) for i in several] if several else []
    if state.job_id is not None and state.job_id not in ids:
        ids.append(state.job_id)
    return ids


async def cancel_jobs(job_ids: Iterable[int]) -> None:
    """scancel the jobs; ClusterUnavailable if Slurm cannot be told. Jobs already
    over are no error."""
    await cancel_with_scancel(slurm.current_run, job_ids)
