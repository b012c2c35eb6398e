"""The cluster through Slurm's commands: submission by the warm Snakemake with
ws's executor (sbatch), states by one squeue and at most one sacct per round
(ws_slurm.query), cancellation by scancel. Every command goes through one
runner: a recorded one in tests, or one that runs it as another user."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from ws_slurm import scancel
from ws_slurm.query import SlurmQuery
from ws_slurm.run import Runner, run
from ws_slurm.states import StatesAnswer

from service.cluster.submit import SnakemakeSubmitter, WorkflowForker, end_marks_args
from service.core.errors import ClusterUnavailable
from service.runs.folder import RunFolder

log = logging.getLogger(__name__)


async def cancel_with_scancel(runner: Runner, job_ids: Iterable[int]) -> None:
    """scancel the jobs; ClusterUnavailable if Slurm cannot be told."""
    ids = sorted(set(job_ids))
    result = await runner(scancel.scancel_argv(ids))
    if not scancel.cancelled(result.returncode, result.stderr):
        log.warning("scancel failed (%s): %s", result.returncode, result.stderr.strip())
        raise ClusterUnavailable("the cluster did not take the cancellation",
                                 [result.stderr.strip()[-500:]])
    log.info("cancelled jobs %s", ",".join(str(i) for i in ids))


class CliBackend:
    EXECUTOR_ARGS: tuple[str, ...] = ()  # the executor's own default: cli

    def __init__(self, forker: WorkflowForker, profile_dir: Path,
                 runner: Runner = run, end_marks: Path | None = None,
                 users: Callable[[], Sequence[str]] = tuple) -> None:
        self.submitter = SnakemakeSubmitter(
            forker, profile_dir, extra_args=[*self.EXECUTOR_ARGS, *end_marks_args(end_marks)])
        self.runner = runner
        self.query = SlurmQuery(runner, users=users)

    @property
    def queries(self) -> int:
        return self.query.queries

    async def submit(self, folder: RunFolder) -> tuple[int, ...]:
        return await self.submitter.submit(folder)

    async def states(self, job_ids: set[int]) -> StatesAnswer:
        return await self.query.states(job_ids)

    async def cancel(self, job_ids: Iterable[int]) -> None:
        await cancel_with_scancel(self.runner, job_ids)

    async def close(self) -> None:
        pass

    def refuse_unsupported(self, sbatch: Sequence[tuple[str, str]]) -> None:
        pass  # sbatch takes every option a run may name
