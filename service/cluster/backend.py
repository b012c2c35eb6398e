"""How the service reaches the cluster: one interface, one object per way, chosen
by cluster.backend (backend_for).

    CliBackend    Slurm's commands (cli_backend.py)
    DrmaaBackend  libdrmaa (drmaa_backend.py)

Both submit the same way: the run's workflow is run by a Snakemake kept warm on
the login node (a forked child per run) with the Slurm profile and ws's executor
(submit.SnakemakeSubmitter); the backend adds its executor arguments. Nothing
above this module knows which backend is in use. Another way of reaching the
cluster (slurmrestd), or submitting and cancelling as another Unix user, is one
more object with these four methods (or one wrapping another)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

from ws_slurm.states import StatesAnswer

from service.cluster.submit import SubmissionFailed, WorkflowForker
from service.core.config import ClusterConfig, ConfigError
from service.runs.folder import RunFolder

__all__ = ["ClusterBackend", "StatesAnswer", "SubmissionFailed", "backend_for"]


class ClusterBackend(Protocol):
    async def submit(self, folder: RunFolder) -> tuple[int, ...]:
        """Put the run's jobs into Slurm; their ids, in the workflow's order.
        SubmissionFailed (with Slurm's words) if they are not all there."""
        ...

    async def states(self, job_ids: set[int]) -> StatesAnswer:
        """What is known of these jobs, and whether Slurm answered (else: no news)."""
        ...

    async def cancel(self, job_ids: Iterable[int]) -> None:
        """Cancel the jobs; ClusterUnavailable if Slurm refuses. Jobs already over
        are no error."""
        ...

    async def close(self) -> None: ...

    def refuse_unsupported(self, sbatch: Sequence[tuple[str, str]]) -> None:
        """InvalidParameter naming a run's sbatch option this way to Slurm cannot
        pass: asked at POST, before anything is written, rather than a run that
        fails at submission."""
        ...


def check_drmaa_library(cluster: ClusterConfig) -> str:
    """cluster.drmaa_library, if it is a file; ConfigError otherwise."""
    if not cluster.drmaa_library or not os.path.isfile(cluster.drmaa_library):
        raise ConfigError(f"cluster.backend = \"drmaa\" needs libdrmaa: "
                          f"{cluster.drmaa_library or 'no path'!s} is no file (set "
                          "cluster.drmaa_library or DRMAA_LIBRARY_PATH; see README)")
    return cluster.drmaa_library


def backend_for(cluster: ClusterConfig, forker: WorkflowForker,
                end_marks: Path | None = None,
                users: Callable[[], Sequence[str]] = tuple) -> ClusterBackend:
    """The backend of cluster.backend; ConfigError if it cannot work. `users`:
    whose jobs squeue is asked about (none: the service account's)."""
    if cluster.backend != "drmaa":
        from service.cluster.cli_backend import CliBackend
        return CliBackend(forker, cluster.profile_dir, end_marks=end_marks, users=users)
    library = check_drmaa_library(cluster)
    from service.cluster.drmaa_backend import DrmaaBackend  # loads libdrmaa when used
    return DrmaaBackend(forker, cluster.profile_dir, library, end_marks=end_marks)
