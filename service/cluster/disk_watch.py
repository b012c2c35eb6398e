"""Bounds what a run's folder may grow to while it runs.

Slurm bounds a job's time, memory and CPUs, not what it writes. Every
`disk_check_s`, the folder of each cluster run whose job is RUNNING (never a
pending one: it writes nothing) and of each local run going on is measured in
the ledger's measuring thread, as if hostile (service/runs/disk_use.py); one past
`max_run_mb` has its jobs cancelled (a local run: its processes killed) and a
note left in its status/ (identity mode "unix": with the service's own files of
the run, and its jobs cancelled as its user), so its final state says why. In
mode "unix" a user's run can lock its folders against the service, so the
measure is a lower bound there: the users' file-system quota is the real one."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Protocol

from service.cluster.as_user_backend import cancel_jobs
from service.cluster.backend import ClusterBackend
from service.core import atomic
from service.core.config import LimitsConfig
from service.runs.folder import RunFolder
from service.runs.ledger import Ledger

log = logging.getLogger(__name__)
MB = 1024 * 1024


class LocalRuns(Protocol):
    """What the watch needs of the local runner (service/local/runner.py)."""

    def running(self) -> list[Path]: ...

    def kill(self, folder: Path) -> None: ...


class DiskWatch:
    def __init__(self, ledger: Ledger, backend: ClusterBackend, limits: LimitsConfig,
                 local: LocalRuns | None = None) -> None:
        self.ledger = ledger
        self.backend = backend
        self.local = local
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
        local = self.local
        running = set(local.running()) if local else set()
        for key in self.ledger.live("local") if running else ():
            folder = self.ledger.folder(key)
            if local and folder.path in running and await self._over(folder.path):
                log.warning("a local run's folder is over %d MB: stopped",
                            self.max_bytes // MB)
                await self._note(folder)
                local.kill(folder.path)
        for key, run in live.items():
            state = run.state
            if state.latest_state != "RUNNING" or not state.job_ids or key in self._cancelled:
                continue
            folder = self.ledger.folder(key)
            if not await self._over(folder.path):
                continue
            self._cancelled.add(key)
            log.warning("job %s: its run folder is over %d MB: cancelled", state.job_id,
                        self.max_bytes // MB)
            await self._note(folder)
            await cancel_jobs(self.backend, folder, list(state.job_ids))

    async def _over(self, folder: Path) -> bool:
        try:
            return await self.ledger.measurer.measure(folder) > self.max_bytes
        except OSError:
            return False

    async def _note(self, folder: RunFolder) -> None:
        """disk.exceeded: the run's final state will say why it ended (no note, if
        it cannot be written: the run is stopped all the same)."""
        try:
            await asyncio.to_thread(atomic.write_text, folder.disk_exceeded,
                                    f"{self.max_bytes // MB}\n")
        except OSError as e:
            log.warning("no note of the run's size: %s", e)
