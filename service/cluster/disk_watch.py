"""Bounds what a cluster run's folder may grow to while its job runs.

Slurm bounds a job's time, memory and CPUs, not what it writes. Every
`disk_check_s`, the folder of each run whose job is RUNNING (never a pending
one: it writes nothing) is measured in the ledger's measuring thread, as if
hostile (service/runs/disk_use.py); one past `max_run_mb` has its jobs
cancelled and a note left in its status/, so its final state (from the poller,
as for any run) says why."""

from __future__ import annotations

import asyncio
import logging

from ws_slurm import records

from service.cluster.backend import ClusterBackend
from service.core import atomic
from service.core.config import LimitsConfig
from service.runs.ledger import Ledger

log = logging.getLogger(__name__)
MB = 1024 * 1024


class DiskWatch:
    def __init__(self, ledger: Ledger, backend: ClusterBackend, limits: LimitsConfig) -> None:
        self.ledger = ledger
        self.backend = backend
        self.max_bytes = limits.max_run_mb * MB
        self.interval_s = limits.disk_check_s
        self._cancelled: set[str] = set()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.check_once()
            except Exception:
                log.exception("disk check round failed")

    async def check_once(self) -> None:
        live = self.ledger.live("cluster")
        self._cancelled &= set(live)
        for key, run in live.items():
            state = run.state
            if state.latest_state != "RUNNING" or not state.job_ids or key in self._cancelled:
                continue
            folder = self.ledger.folder(key)
            try:
                used = await self.ledger.measurer.measure(folder.path)
            except OSError:
                continue
            if used <= self.max_bytes:
                continue
            self._cancelled.add(key)
            log.warning("job %s: its run folder holds %d MB, over %d MB: cancelled",
                        state.job_id, used // MB, self.max_bytes // MB)
            await asyncio.to_thread(atomic.write_text,
                                    folder.status / records.DISK_EXCEEDED_RECORD,
                                    f"{self.max_bytes // MB}\n")
            await self.backend.cancel(list(state.job_ids))
