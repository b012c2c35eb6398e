"""Cancellations, batched: the cancels asked within a few milliseconds of each
other (many clients at once, or one call for many runs) reach Slurm as one
`scancel` with all their job ids (Slurm takes a list), instead of one command
each. One batch is on its way at a time; what is asked meanwhile goes in the
next, so a crowd of cancels costs a few commands, not one each.

The DRMAA backend has no call for many jobs (DRMAA 1.0 controls one job, or a
whole session, which is not the service's jobs): a batch there is one worker
thread and one lock for all its jobs, one request to slurmctld per job."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from service.cluster.backend import ClusterBackend
from service.cluster.poller import Poller

BATCH_WINDOW_S = 0.005  # how long a cancel waits for others to join its batch
MAX_BATCH = 500  # job ids per backend call (scancel's command line stays short)


class Cancels:
    def __init__(self, backend: ClusterBackend, poller: Poller,
                 window_s: float = BATCH_WINDOW_S) -> None:
        self.backend = backend
        self.poller = poller
        self.window_s = window_s
        self.calls = 0  # backend calls, for tests and benchmarks
        self._waiting: list[tuple[set[int], asyncio.Future[None]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def cancel(self, jobs: dict[str, Iterable[int]]) -> None:
        """Cancel the jobs of these runs ({key: job ids}) with whatever else is asked
        meanwhile; ClusterUnavailable if Slurm did not take the batch. The poller
        then asks Slurm at once (and again soon) about these runs."""
        ids = {j for job_ids in jobs.values() for j in job_ids}
        if not ids:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((ids, done))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send())
        await asyncio.shield(done)  # a caller gone does not stop the others' batch
        self.poller.ending(set(jobs))

    async def _send(self) -> None:
        while self._waiting:
            await asyncio.sleep(self.window_s)
            batch, self._waiting = self._waiting, []
            ids = sorted({j for job_ids, _ in batch for j in job_ids})
            error: BaseException | None = None
            try:
                for start in range(0, len(ids), MAX_BATCH):
                    self.calls += 1
                    await self.backend.cancel(ids[start:start + MAX_BATCH])
            except Exception as e:  # told to every caller of the batch
                error = e
            for _, done in batch:
                if done.done():
                    continue
                if error is None:
                    done.set_result(None)
                else:
                    done.set_exception(error)
                    done.exception()  # retrieved: a caller gone leaves no warning

    async def close(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
