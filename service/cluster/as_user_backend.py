"""Identity mode "unix": a cluster run's jobs are its Unix user's own.

`AsUserBackend` wraps the configured backend: a run's workflow is submitted
(`ws-as-user submit`: a Snakemake started cold, as the user, with the same
profile, executor and --immediate-submit) and cancelled (`ws-as-user cancel`:
scancel of its status/jobs.json, as the user) through the one sudoers rule;
states come from the wrapped backend as for any run (squeue and sacct show
every user's jobs unless Slurm's PrivateData hides them). The run folder is
the user's (placement.UnixPlacement): runs_dir/UNIXNAME/RUN_ID, so its path
names whom to act as."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence

from ws_slurm.states import StatesAnswer

from service.accounts.as_user import AsUser, AsUserFailed
from service.cluster.backend import ClusterBackend
from service.cluster.submit import SubmissionFailed, not_all_in_slurm, submission_records
from service.core.errors import ClusterUnavailable
from service.runs.folder import RunFolder

log = logging.getLogger(__name__)


def whose(folder: RunFolder) -> tuple[str, str]:
    """(the Unix user, the run folder's name) of a run folder of unix mode."""
    return folder.path.parent.name, folder.path.name


class AsUserBackend:
    def __init__(self, inner: ClusterBackend, as_user: AsUser) -> None:
        self.inner = inner
        self.as_user = as_user

    @property
    def queries(self) -> int:
        return int(getattr(self.inner, "queries", 0))

    async def submit(self, folder: RunFolder) -> tuple[int, ...]:
        user, run_id = whose(folder)
        failed = ""
        try:
            await asyncio.to_thread(self.as_user.run, user, "submit", run_id)
        except (AsUserFailed, OSError) as e:
            failed = str(e)
        error, exits = await asyncio.to_thread(submission_records, folder)
        job_ids = tuple(job.slurm_id for job in exits.jobs)
        if failed or error or not job_ids:
            raise SubmissionFailed(error or failed or not_all_in_slurm("", 0))
        return job_ids

    async def states(self, job_ids: set[int]) -> StatesAnswer:
        return await self.inner.states(job_ids)

    async def cancel(self, job_ids: Iterable[int]) -> None:
        # Without the run folder: as the service account (which Slurm lets cancel
        # only its own jobs unless it is a Slurm operator). cancel_run is the way.
        await self.inner.cancel(job_ids)

    async def cancel_run(self, folder: RunFolder) -> None:
        """Cancel the run's jobs as its user (the ids of its status/jobs.json)."""
        user, run_id = whose(folder)
        try:
            await asyncio.to_thread(self.as_user.run, user, "cancel", run_id, 60.0)
        except (AsUserFailed, OSError) as e:
            log.warning("cancel as %s failed: %s", user, e)
            raise ClusterUnavailable("the cluster did not take the cancellation",
                                     [str(e)[-500:]]) from e

    async def close(self) -> None:
        await self.inner.close()

    def refuse_unsupported(self, sbatch: Sequence[tuple[str, str]]) -> None:
        self.inner.refuse_unsupported(sbatch)


async def cancel_jobs(backend: ClusterBackend, folder: RunFolder,
                      job_ids: Iterable[int]) -> None:
    """Cancel a run's jobs: as its user in unix mode, else through the backend."""
    if isinstance(backend, AsUserBackend):
        await backend.cancel_run(folder)
    else:
        await backend.cancel(job_ids)
