"""Cluster runs whose submission goes on behind their POST's answer.

POST answers once the run folder is written; its jobs reach Slurm in a task
here. The job ids go into the run's state (and the poller's view) once known;
a submission that fails ends the run NOK with Slurm's words. A state request
arriving meanwhile waits for it a little, so it shows a job id as the user's
document describes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from service.cluster.poller import Poller
from service.cluster.submit import (
    SubmissionFailed,
    Submitter,
    ended_unsubmitted,
    slurm_refused,
)
from service.runs.folder import RunFolder
from service.runs.lifecycle import save_state
from service.runs.state import RunState

log = logging.getLogger(__name__)
# Workflow children submitting at once: each is a forked Snakemake (~0.1 s of CPU,
# up to ~70 MB, mostly shared with the warm parent), so a burst of POSTs queues
# here instead of forking hundreds. More than the 2 cores: a child spends much of
# its time waiting (sbatch, slurmctld, the disk); measured with 60 POSTs on 2 busy
# cores, every job id known after 20.6 s with 2, 9-10 s with 4, 7.3 s with 8.
CONCURRENT_SUBMISSIONS = 8


class Submissions:
    def __init__(self, submitter: Submitter, poller: Poller, runs_dir: Path) -> None:
        self.submitter = submitter
        self.poller = poller
        self.runs_dir = runs_dir
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(CONCURRENT_SUBMISSIONS)

    def start(self, key: str, state: RunState, name: str) -> None:
        self.poller.track(key, state)
        task = asyncio.create_task(self._submit(key, state, name))
        self._tasks[key] = task
        task.add_done_callback(lambda _: self._tasks.pop(key, None))

    async def _submit(self, key: str, state: RunState, name: str) -> None:
        try:
            async with self._slots:
                job_ids = await self.submitter.submit(RunFolder(self.runs_dir / key))
        except SubmissionFailed as e:
            log.warning("run %s: submission failed: %s", name, e)
            self.poller.save(key, ended_unsubmitted(state, slurm_refused(str(e))))
            return
        except Exception as e:  # never leave a run waiting for ever
            log.exception("run %s: submission failed", name)
            self.poller.save(key, ended_unsubmitted(state, f"the submission failed: {e}"))
            return
        await self._submitted(key, state, name, job_ids)

    async def _submitted(self, key: str, state: RunState, name: str,
                         job_ids: tuple[int, ...]) -> None:
        submitted = self._with_jobs(key, state, job_ids)
        # Written (and synced) off the event loop: a burst's submissions would
        # otherwise queue every request behind their fsyncs. Nothing else writes
        # the state of a run without job ids while its submission is under way
        # (reconciliation leaves busy runs alone), so nothing can come in between.
        await asyncio.to_thread(save_state, RunFolder(self.runs_dir / key), submitted)
        self.poller.saved(key, submitted)
        self._follow(key, submitted, name)

    def adopt(self, key: str, state: RunState, name: str, job_ids: tuple[int, ...]) -> None:
        """Follow jobs found again (reconcile.py): a run whose ids were never saved.
        Rare (after a crash): its state is written on the loop."""
        submitted = self._with_jobs(key, state, job_ids)
        self.poller.save(key, submitted)
        self._follow(key, submitted, name)

    def _with_jobs(self, key: str, state: RunState, job_ids: tuple[int, ...]) -> RunState:
        current = self.poller.state_of(key) or state
        return current.moved_to(job_id=job_ids[0], jobs=job_ids)

    def _follow(self, key: str, submitted: RunState, name: str) -> None:
        self.poller.track(key, submitted)
        log.info("run %s submitted as jobs %s", name, ",".join(map(str, submitted.job_ids)))

    def busy(self, key: str) -> bool:
        """Whether this run's submission is under way in this process."""
        return key in self._tasks

    async def settled(self, key: str, timeout: float = 10.0) -> None:
        """Wait (a little) for a submission under way, if any."""
        task = self._tasks.get(key)
        if task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(task), timeout)

    async def stop(self) -> None:
        for task in list(self._tasks.values()):
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(task), 30)
