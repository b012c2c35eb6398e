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
import os
import time
from pathlib import Path

from service.cluster import slurm
from service.cluster.jobstatus import JobStatusSource, SlurmStatus, settle_with_records
from service.core.config import ClusterConfig
from service.core.store import Store
from service.runs.exits import read_exit_records
from service.runs.folder import RunFolder
from service.runs.lifecycle import load_state, save_state
from service.runs.state import NOK, ExitRecords, RunState, ended, ended_jobs

log = logging.getLogger(__name__)
YOUNG_S = 60.0  # runs younger than this are polled at the fastest interval
WATCH_S = 0.05  # how often the live runs' status/ folders are looked at (no Slurm query)
FOLLOW_UP_S = 0.05  # first re-query after a run's status/ changed (then doubling)


class Poller:
    def __init__(self, store: Store, runs_dir: Path, config: ClusterConfig,
                 source: JobStatusSource | None = None) -> None:
        self.store = store
        self.source: JobStatusSource = source or SlurmStatus()
        self.runs_dir = runs_dir
        self.config = config
        self.view: dict[str, RunState] = {}
        self._since: dict[str, float] = {}
        self._last_seen: dict[str, float] = {}  # when Slurm last showed a job of the run
        self._completed_since: dict[str, float] = {}  # all over, exit records awaited
        self._wake = asyncio.Event()
        # status/ of each live run at the last look: mtime, number of exit records
        self._seen: dict[str, tuple[int | None, int]] = {}
        self._minute_start, self._rounds = time.monotonic(), 0
        self._saved = asyncio.Event()  # set, then replaced, on every save: see changed()

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
            self._last_seen[entry.key] = time.time()  # no news yet: a fresh start

    def track(self, key: str, state: RunState) -> None:
        self.view[key] = state
        self._since[key] = self._last_seen[key] = time.time()
        self._wake.set()

    def state_of(self, key: str) -> RunState | None:
        return self.view.get(key)

    def unsubmitted(self) -> list[str]:
        """Live runs without job ids: their submission was cut off by a restart."""
        return [k for k, s in self._live().items() if not s.job_ids]

    def changed(self) -> asyncio.Event:
        """An event set at the next save of any run's state (for waiting state calls)."""
        return self._saved

    def wake(self) -> None:
        """Poll now (after a cancellation, say) rather than at the next interval."""
        self._wake.set()

    def _live(self) -> dict[str, RunState]:
        return {k: s for k, s in self.view.items() if not s.final}

    # ---- the loop ----------------------------------------------------------------------
    async def run(self) -> None:
        """Ask Slurm at `interval` (fast while runs are young, slower as they age),
        and in between watch the live runs' status/ folders, which costs Slurm
        nothing: a new exit record there means a job's command is over, so Slurm
        is asked at once (at most every WATCH_S) instead of at the next round."""
        interval = self.config.poll_min_s
        next_query = 0.0
        ending: set[str] = set()  # runs whose status/ changed: their end may be near
        follow_up = FOLLOW_UP_S
        while True:
            live = self._live()
            if not live:
                self._wake.clear()
                await self._wake.wait()
                interval = self.config.poll_min_s
                next_query = 0.0
                continue
            news = await asyncio.to_thread(self._news, live)
            if news:
                ending |= news
                follow_up = FOLLOW_UP_S
            if news or time.monotonic() >= next_query:
                try:
                    await self.poll_once()
                except Exception:
                    log.exception("poll round failed")
                wall = time.time()
                young = any(wall - self._since.get(k, wall) < YOUNG_S for k in self._live())
                interval = (self.config.poll_min_s if young
                            else min(interval * 1.5, self.config.poll_max_s))
                next_query = time.monotonic() + interval
                # A job whose command has ended is COMPLETED in Slurm a moment
                # later: ask again soon, less and less often, while it is not.
                ending &= set(self._live())
                if ending:
                    next_query = min(next_query, time.monotonic() + follow_up)
                    follow_up *= 2
                    if follow_up > self.config.poll_max_s:
                        ending.clear()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(),
                                       min(WATCH_S, max(0.0, next_query - time.monotonic())))

    def _news(self, live: dict[str, RunState]) -> set[str]:
        """The live runs with a new exit record in status/ since the last look: a
        job's command has ended. A stat per run; the folder is listed only when
        its mtime moved (the jobs list being written is no news)."""
        news = set()
        for key in live:
            status = self.runs_dir / key / "status"
            try:
                mtime = os.stat(status).st_mtime_ns
                if self._seen.get(key, (None, 0))[0] == mtime:
                    continue
                exits = sum(1 for e in os.scandir(status)
                            if e.name.endswith(".exit") and e.name != "snakemake.exit")
            except OSError:
                continue
            if key in self._seen and exits > self._seen[key][1]:
                news.add(key)
            self._seen[key] = (mtime, exits)
        return news

    async def poll_once(self) -> None:
        live = {k: s for k, s in self._live().items() if s.job_ids}
        if not live:
            return
        self._count_round(len(live))
        known = await self.source.states({j for s in live.values() for j in s.job_ids})
        # The exit records of the runs whose end is in sight, read off the event
        # loop (a run folder's files are read with care, but a disk can be slow).
        wanted = [key for key, state in live.items()
                  if any(known.get(j) is None or known[j].final for j in state.job_ids)]
        records = await asyncio.to_thread(self._read_records, wanted)
        answered = self.source.answered
        for key, state in live.items():
            # One run's folder (deleted, unreadable, hostile) is that run's problem:
            # the others are followed all the same.
            try:
                self._update(key, state, {j: known[j] for j in state.job_ids if j in known},
                             records.get(key), answered)
            except Exception:
                self._isolate(key, state)

    def _count_round(self, live: int) -> None:
        """One line a minute: how often Slurm was asked, for admins and benchmarks."""
        now = time.monotonic()
        if now - self._minute_start >= 60:
            if self._rounds:
                log.info("poller: %d status rounds in %.0f s (%d live runs)", self._rounds,
                         now - self._minute_start, live)
            self._minute_start, self._rounds = now, 0
        self._rounds += 1

    def _read_records(self, keys: list[str]) -> dict[str, ExitRecords]:
        found = {}
        for key in keys:
            with contextlib.suppress(Exception):  # none: _update waits, or isolates
                found[key] = read_exit_records(RunFolder(self.runs_dir / key))
        return found

    def _isolate(self, key: str, state: RunState) -> None:
        """A run that cannot be followed: ended NOK if its folder is gone (nothing
        can be served or judged), else left for the next round."""
        if (self.runs_dir / key).is_dir():
            log.exception("job %s: this round could not follow it", state.job_id)
            return
        log.warning("job %s: its run folder is gone; ended NOK", state.job_id)
        self._forget(key)
        self.store.set_run_cr(key, NOK)

    def _forget(self, key: str) -> None:
        """Drop an ended run from everything kept per live run."""
        for table in (self.view, self._since, self._last_seen, self._completed_since,
                      self._seen):
            table.pop(key, None)

    def _update(self, key: str, state: RunState, infos: dict[int, slurm.JobInfo],
                records: ExitRecords | None, answered: bool = True) -> None:
        records = records or ExitRecords(snakemake=None, command=None, modules_failed=False)
        infos = settle_with_records(infos, records)  # DRMAA's `failed`: forgotten?
        jobs = state.job_ids
        now = time.time()
        if infos:
            self._last_seen[key] = now
        if len(infos) == len(jobs) and all(i.final for i in infos.values()):
            states = {j: i.state for j, i in infos.items()}
            if self._records_late(key, state, states, records, now):
                return
            new = (ended_jobs(state, states, records) if state.jobs
                   else ended(state, states[jobs[0]], records))
        elif infos:
            going = [infos[j].state for j in jobs if j in infos and not infos[j].final]
            latest = going[0] if going else state.latest_state
            if latest == state.latest_state:
                return
            new = state.moved_to(latest_state=latest)
        else:
            # Slurm shows none of the run's jobs (slurmdbd down, jobs long gone, or
            # Slurm not answering): status/ decides.
            guessed = self._from_records(key, state, records, answered, now)
            if guessed is None:
                return
            new = guessed
        self.save(key, new)

    def _records_late(self, key: str, state: RunState, states: dict[int, str],
                      records: ExitRecords, now: float) -> bool:
        """Slurm says COMPLETED, the exit records are not all there yet: a shared
        file system may show them late. Wait exit_record_grace_s, then judge."""
        complete = (all(j.exit is not None for j in records.jobs)
                    and len(records.jobs) >= len(state.jobs) if state.jobs
                    else records.snakemake is not None)
        if complete or "COMPLETED" not in states.values():
            return False
        first = self._completed_since.setdefault(key, now)
        return now - first < self.config.exit_record_grace_s

    def _from_records(self, key: str, state: RunState, records: ExitRecords,
                      answered: bool, now: float) -> RunState | None:
        if state.jobs and records.jobs and all(j.exit is not None for j in records.jobs):
            return ended_jobs(state, {j.slurm_id: "COMPLETED" if j.exit == 0 else "FAILED"
                                      for j in records.jobs}, records)
        if not state.jobs and records.snakemake is not None:
            return ended(state, "COMPLETED" if records.snakemake == 0 else "FAILED", records)
        # Lost only on Slurm's word: it answered, and has not shown the run's jobs for
        # lost_after_s. A round in which it could not be asked is no news.
        if answered and now - self._last_seen.get(key, now) > self.config.lost_after_s:
            return ended(state, "UNKNOWN", records)
        return None

    def save(self, key: str, state: RunState) -> None:
        save_state(RunFolder(self.runs_dir / key), state)
        self.saved(key, state)

    def saved(self, key: str, state: RunState) -> None:
        """`state` is in the run's state.json already (written off the event loop)."""
        self.view[key] = state
        self._saved.set()
        self._saved = asyncio.Event()
        if state.final:
            # From now on state.json alone answers: the view holds live runs only,
            # so it does not grow with every run the service ever had.
            self._forget(key)
            self.store.set_run_cr(key, state.cr)
            # Keys are capabilities: log the job id, never the key.
            log.info("job %s ended %s %s", state.job_id, state.latest_state, state.cause)
