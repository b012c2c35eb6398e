"""Cluster runs whose submission goes on behind their POST's answer.

POST answers once the run folder is written; its jobs reach Slurm in a task
here. The job ids go into the run's state (through the ledger) once known, and
the poller follows them from then on; a submission that fails ends the run NOK
with Slurm's words. A state request arriving meanwhile waits for it a little,
so it shows a job id as the user's document describes."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from service.cluster.poller import Poller
from service.cluster.submit import (
    RunSubmitter,
    SubmissionFailed,
    ended_unsubmitted,
    slurm_refused,
)
from service.core.clock import SYSTEM_CLOCK, Clock
from service.runs.ledger import Ledger
from service.runs.state import RunState

log = logging.getLogger(__name__)
# Workflow children submitting at once: each is a forked Snakemake (~0.1 s of CPU,
# up to ~70 MB, mostly shared with the warm parent), so a burst of POSTs queues
# here instead of forking hundreds. More than the 2 cores: a child spends much of
# its time waiting (sbatch, slurmctld, the disk); measured with 60 POSTs on 2 busy
# cores, every job id known after 20.6 s with 2, 9-10 s with 4, 7.3 s with 8.
CONCURRENT_SUBMISSIONS = 8


class SubmissionQueue:
    def __init__(self, submitter: RunSubmitter, ledger: Ledger, poller: Poller,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self.submitter = submitter
        self.ledger = ledger
        self.poller = poller
        self.clock = clock
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(CONCURRENT_SUBMISSIONS)

    def start(self, key: str, name: str) -> None:
        """Submit the run's jobs, behind the caller's back."""
        task = asyncio.create_task(self._submit(key, name))
        self._tasks[key] = task
        task.add_done_callback(lambda _: self._tasks.pop(key, None))

    async def _submit(self, key: str, name: str) -> None:
        try:
            async with self._slots:
                job_ids = await self.submitter.submit(self.ledger.folder(key))
        except SubmissionFailed as e:
            log.warning("run %s: submission failed: %s", name, e)
            await self.end(key, slurm_refused(str(e)))
            return
        except Exception as e:  # never leave a run waiting for ever
            log.exception("run %s: submission failed", name)
            await self.end(key, f"the submission failed: {e}")
            return
        await self.submitted(key, name, job_ids)

    async def submitted(self, key: str, name: str, job_ids: tuple[int, ...]) -> None:
        """The run's jobs are in Slurm (submitted here, or found again by
        reconcile.py): into its state, then followed. Nothing else changes the
        state of a run without job ids while its submission is under way
        (reconciliation leaves busy runs alone), so nothing comes in between."""
        await self.ledger.change(key, self._current(key).moved_to(self.clock.time(),
                                                                  jobs=job_ids))
        self.poller.follow(key)
        log.info("run %s submitted as jobs %s", name, ",".join(map(str, job_ids)))

    async def end(self, key: str, cause: str) -> None:
        """The run's jobs did not all reach Slurm: ended NOK with `cause`."""
        await self.ledger.change(key, ended_unsubmitted(self._current(key), cause,
                                                        self.clock.time()))

    def _current(self, key: str) -> RunState:
        return self.ledger.live_state(key) or RunState()

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
