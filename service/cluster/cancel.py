"""Cancelling a run's Slurm jobs: the scancel adapter (pure argv builder) and its
runner. A run may have several job ids (read from its state, never assumed one);
the poller then sees them CANCELLED and ends the run NOK with that cause."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from service.cluster import slurm
from service.core.errors import ClusterUnavailable
from service.runs.state import RunState

log = logging.getLogger(__name__)


def job_ids_of(state: RunState) -> list[int]:
    """Every Slurm job id of a run: `job_ids` when the state has several, else `job_id`."""
    several = getattr(state, "job_ids", None)
    ids = [int(i) for i in several] if several else []
    if state.job_id is not None and state.job_id not in ids:
        ids.append(state.job_id)
    return ids


def scancel_command(job_ids: Iterable[int], scancel: str = "scancel") -> list[str]:
    ids = sorted(set(job_ids))
    if not ids:
        raise ValueError("no job to cancel")
    return [scancel, *(str(i) for i in ids)]


async def cancel_jobs(job_ids: Iterable[int]) -> None:
    """scancel the jobs; ClusterUnavailable if Slurm cannot be told. Jobs already
    over are no error (scancel says so on stderr and exits 0 or 1 alike)."""
    ids = sorted(set(job_ids))
    result = await slurm.run(scancel_command(ids))
    if result.returncode != 0 and "already completing or completed" not in result.stderr \
            and "Invalid job id" not in result.stderr:
        log.warning("scancel failed (%s): %s", result.returncode, result.stderr.strip())
        raise ClusterUnavailable("the cluster did not take the cancellation",
                                 [result.stderr.strip()[-500:]])
    log.info("cancelled jobs %s", ",".join(str(i) for i in ids))
