"""The one background loop that follows every live cluster run.

Per round it asks its job status source once about all live jobs (with Slurm:
`squeue`, then `sacct` for what squeue forgot; service/jobstatus.py), then
reads the run folders' exit records for what it does not answer. So the number
of Slurm queries per minute does not grow with the number of runs. State
requests read `view`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from service.cluster import slurm
from service.cluster.jobstatus import JobStatusSource, SlurmStatus
from service.core.config import ClusterConfig
from service.core.store import Store
from service.runs.exits import read_exit_records
from service.runs.folder import RunFolder
from service.runs.lifecycle import load_state, save_state
from service.runs.state import NOK, ExitRecords, RunState, ended

log = logging.getLogger(__name__)
YOUNG_S = 60.0  # runs younger than this are polled at the fastest interval


class Poller:
    def __init__(self, store: Store, runs_dir: Path, config: ClusterConfig,
                 source: JobStatusSource | None = None) -> None:
        self.store = store
        self.source: JobStatusSource = source or SlurmStatus()
        self.runs_dir = runs_dir
        self.config = config
        self.view: dict[str, RunState] = {}
        self._since: dict[str, float] = {}
        self._wake = asyncio.Event()

    # ---- the view ----------------------------------------------------------------------
    def load(self) -> None:
        """After a (re)start: every run the index says is live, from its folder."""
        for entry in self.store.live_runs("cluster"):
            folder = RunFolder(self.runs_dir / entry.key)
            try:
                state = load_state(folder)
            except (OSError, ValueError):
                # Without its state (and job id) nobody can follow it: end it.
                log.warning("job of run %s: no readable state.json; ended NOK",
                            entry.number)
                self.store.set_run_cr(entry.key, NOK)
                continue
            self.view[entry.key] = state
            self._since[entry.key] = entry.created

    def track(self, key: str, state: RunState) -> None:
        self.view[key] = state
        self._since[key] = time.time()
        self._wake.set()

    def state_of(self, key: str) -> RunState | None:
        return self.view.get(key)

    def _live(self) -> dict[str, RunState]:
        return {k: s for k, s in self.view.items() if not s.final}

    # ---- the loop ----------------------------------------------------------------------
    async def run(self) -> None:
        interval = self.config.poll_min_s
        while True:
            live = self._live()
            if not live:
                self._wake.clear()
                await self._wake.wait()
                interval = self.config.poll_min_s
                continue
            try:
                await self.poll_once()
            except Exception:
                log.exception("poll round failed")
            now = time.time()
            young = any(now - self._since.get(k, now) < YOUNG_S for k in self._live())
            interval = (self.config.poll_min_s if young
                        else min(interval * 1.5, self.config.poll_max_s))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)

    async def poll_once(self) -> None:
        live = {k: s for k, s in self._live().items() if s.job_id is not None}
        if not live:
            return
        known = await self.source.states({s.job_id for s in live.values()
                                          if s.job_id is not None})
        infos = {key: known.get(state.job_id) for key, state in live.items()
                 if state.job_id is not None}
        # The exit records of the runs whose end is in sight, read off the event
        # loop (a run folder's files are read with care, but a disk can be slow).
        wanted = [key for key, info in infos.items() if info is None or info.final]
        records = await asyncio.to_thread(self._read_records, wanted)
        for key, state in live.items():
            self._update(key, state, infos.get(key), records.get(key))

    def _read_records(self, keys: list[str]) -> dict[str, ExitRecords]:
        return {key: read_exit_records(RunFolder(self.runs_dir / key)) for key in keys}

    def _update(self, key: str, state: RunState, info: slurm.JobInfo | None,
                records: ExitRecords | None) -> None:
        if records is None:
            records = ExitRecords(snakemake=None, command=None, modules_failed=False)
        if info is not None and info.final:
            new = ended(state, info.state, records)
        elif info is not None:
            if info.state == state.latest_state:
                return
            new = state.moved_to(latest_state=info.state)
        else:
            # Slurm knows nothing (slurmdbd down, job long gone): status/ decides.
            if records.snakemake is not None:
                guess = "COMPLETED" if records.snakemake == 0 else "FAILED"
                new = ended(state, guess, records)
            elif time.time() - self._since.get(key, time.time()) > self.config.lost_after_s:
                new = ended(state, "UNKNOWN", records)
            else:
                return
        self.save(key, new)

    def save(self, key: str, state: RunState) -> None:
        save_state(RunFolder(self.runs_dir / key), state)
        self.view[key] = state
        if state.final:
            # From now on state.json alone answers: the view holds live runs only,
            # so it does not grow with every run the service ever had.
            del self.view[key]
            self._since.pop(key, None)
            self.store.set_run_cr(key, state.cr)
            # Keys are capabilities: log the job id, never the key.
            log.info("job %s ended %s %s", state.job_id, state.latest_state, state.cause)
