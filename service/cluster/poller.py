"""The one background loop that follows every live cluster run.

Per round it asks the cluster backend once about all live jobs (with Slurm's
commands: `squeue`, then `sacct` for what squeue forgot; service/cluster/backend.py), then
reads the run folders' exit records for what it does not answer. So the number
of Slurm queries per minute does not grow with the number of runs. What it
learns goes to the ledger (service/runs/ledger.py), which state requests read."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass

from service.cluster import slurm
from service.cluster.backend import ClusterBackend
from service.cluster.jobstatus import settle_with_records
from service.core.clock import SYSTEM_CLOCK, Clock
from service.core.config import ClusterConfig
from service.runs.exits import read_exit_records
from service.runs.ledger import Ledger
from service.runs.state import ExitRecords, RunState, ended, ended_jobs

log = logging.getLogger(__name__)
YOUNG_S = 60.0  # runs younger than this are polled at the fastest interval
WATCH_S = 0.05  # how often the live runs' status/ folders are looked at (no Slurm query)
FOLLOW_UP_S = 0.05  # first re-query after a run's status/ changed (then doubling)


@dataclass
class Following:
    """What the poller keeps of one live run it follows."""

    since: float  # when the run began (young runs are asked about more often)
    last_seen: float  # when Slurm last showed a job of the run
    completed_since: float | None = None  # all over, exit records awaited
    status_seen: tuple[int, int] | None = None  # status/ at the last look: mtime, exits


class Poller:
    def __init__(self, ledger: Ledger, config: ClusterConfig, backend: ClusterBackend,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self.ledger = ledger
        self.backend = backend
        self.config = config
        self.clock = clock
        self._following: dict[str, Following] = {}
        self._wake = asyncio.Event()
        self._minute_start, self._rounds = clock.monotonic(), 0

    def follow(self, key: str) -> None:
        """The run's jobs are in Slurm (and its state): follow them from now."""
        now = self.clock.time()
        self._following[key] = Following(since=now, last_seen=now)
        self._wake.set()

    def wake(self) -> None:
        """Poll now (after a cancellation, say) rather than at the next interval."""
        self._wake.set()

    def _live(self) -> dict[str, RunState]:
        """The live cluster runs, as the ledger has them; what is kept of the others
        is dropped, and a run loaded at start is followed from its creation."""
        live = self.ledger.live("cluster")
        self._following = {k: f for k, f in self._following.items() if k in live}
        for key, run in live.items():
            if key not in self._following:
                self._following[key] = Following(since=run.created,
                                                 last_seen=self.clock.time())
        return {k: r.state for k, r in live.items()}

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
                await self._idle()
                interval = self.config.poll_min_s
                next_query = 0.0
                continue
            news = await asyncio.to_thread(self._news, live)
            if news:
                ending |= news
                follow_up = FOLLOW_UP_S
            if news or self.clock.monotonic() >= next_query:
                try:
                    await self.poll_once()
                except Exception:
                    log.exception("poll round failed")
                wall = self.clock.time()
                young = any(wall - self._following[k].since < YOUNG_S for k in self._live())
                interval = (self.config.poll_min_s if young
                            else min(interval * 1.5, self.config.poll_max_s))
                next_query = self.clock.monotonic() + interval
                # A job whose command has ended is COMPLETED in Slurm a moment
                # later: ask again soon, less and less often, while it is not.
                ending &= set(self._live())
                if ending:
                    next_query = min(next_query, self.clock.monotonic() + follow_up)
                    follow_up *= 2
                    if follow_up > self.config.poll_max_s:
                        ending.clear()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                left = max(0.0, next_query - self.clock.monotonic())
                await asyncio.wait_for(self._wake.wait(), min(WATCH_S, left))

    async def _idle(self) -> None:
        """No live run: sleep until told (follow, wake) or until the ledger changes
        (a run followed again by reconciliation, say)."""
        self._wake.clear()
        waits = [asyncio.ensure_future(self._wake.wait()),
                 asyncio.ensure_future(self.ledger.changed().wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    def _news(self, live: dict[str, RunState]) -> set[str]:
        """The live runs with a new exit record in status/ since the last look: a
        job's command has ended. A stat per run; the folder is listed only when
        its mtime moved (the jobs list being written is no news)."""
        news = set()
        for key in live:
            following = self._following.get(key)
            if following is None:
                continue
            status = self.ledger.folder(key).status
            seen = following.status_seen
            try:
                mtime = os.stat(status).st_mtime_ns
                if seen is not None and seen[0] == mtime:
                    continue
                exits = sum(1 for e in os.scandir(status)
                            if e.name.endswith(".exit") and e.name != "snakemake.exit")
            except OSError:
                continue
            if seen is not None and exits > seen[1]:
                news.add(key)
            following.status_seen = (mtime, exits)
        return news

    async def poll_once(self) -> None:
        live = {k: s for k, s in self._live().items() if s.job_ids}
        if not live:
            return
        self._count_round(len(live))
        answer = await self.backend.states({j for s in live.values() for j in s.job_ids})
        known, answered = answer.known, answer.answered
        # The exit records of the runs whose end is in sight, read off the event
        # loop (a run folder's files are read with care, but a disk can be slow).
        wanted = [key for key, state in live.items()
                  if any(known.get(j) is None or known[j].final for j in state.job_ids)]
        records = await asyncio.to_thread(self._read_records, wanted)
        changes: dict[str, RunState] = {}
        for key, state in live.items():
            # One run's folder (deleted, unreadable, hostile) is that run's problem:
            # the others are followed all the same.
            try:
                new = self._update(key, state,
                                   {j: known[j] for j in state.job_ids if j in known},
                                   records.get(key), answered)
            except Exception as e:
                self._isolate(key, state, e)
                continue
            if new is not None:
                changes[key] = new
        # Written off the event loop, together (their syncs share the thread pool).
        done = await asyncio.gather(*(self.ledger.change(k, s) for k, s in changes.items()),
                                    return_exceptions=True)
        for (key, state), error in zip(changes.items(), done, strict=True):
            if isinstance(error, Exception):
                self._isolate(key, state, error)

    def _count_round(self, live: int) -> None:
        """One line a minute: how often Slurm was asked, for admins and benchmarks."""
        now = self.clock.monotonic()
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
                found[key] = read_exit_records(self.ledger.folder(key))
        return found

    def _isolate(self, key: str, state: RunState, error: Exception) -> None:
        """A run that cannot be followed: ended NOK if its folder is gone (nothing
        can be served or judged), else left for the next round."""
        if self.ledger.folder(key).path.is_dir():
            log.error("job %s: this round could not follow it", state.job_id, exc_info=error)
            return
        log.warning("job %s: its run folder is gone; ended NOK", state.job_id)
        self._following.pop(key, None)
        self.ledger.end_unfollowable(key)

    def _update(self, key: str, state: RunState, infos: dict[int, slurm.JobInfo],
                records: ExitRecords | None, answered: bool = True) -> RunState | None:
        """The run's new state, or None if nothing changed."""
        records = records or ExitRecords(snakemake=None, command=None, modules_failed=False)
        infos = settle_with_records(infos, records)  # DRMAA's `failed`: forgotten?
        jobs = state.job_ids
        now = self.clock.time()
        following = self._following[key]
        if infos:
            following.last_seen = now
        if len(infos) == len(jobs) and all(i.final for i in infos.values()):
            states = {j: i.state for j, i in infos.items()}
            if self._records_late(following, state, states, records, now):
                return None
            return ended_jobs(state, states, records, now)
        if infos:
            going = [infos[j].state for j in jobs if j in infos and not infos[j].final]
            latest = going[0] if going else state.latest_state
            if latest == state.latest_state:
                return None
            return state.moved_to(now, latest_state=latest)
        # Slurm shows none of the run's jobs (slurmdbd down, jobs long gone, or
        # Slurm not answering): status/ decides.
        return self._from_records(following, state, records, answered, now)

    def _records_late(self, following: Following, state: RunState, states: dict[int, str],
                      records: ExitRecords, now: float) -> bool:
        """Slurm says COMPLETED, the exit records are not all there yet: a shared
        file system may show them late. Wait exit_record_grace_s, then judge."""
        complete = (all(j.exit is not None for j in records.jobs)
                    and len(records.jobs) >= len(state.jobs))
        if complete or "COMPLETED" not in states.values():
            return False
        if following.completed_since is None:
            following.completed_since = now
        return now - following.completed_since < self.config.exit_record_grace_s

    def _from_records(self, following: Following, state: RunState, records: ExitRecords,
                      answered: bool, now: float) -> RunState | None:
        if records.jobs and all(j.exit is not None for j in records.jobs):
            return ended_jobs(state, {j.slurm_id: "COMPLETED" if j.exit == 0 else "FAILED"
                                      for j in records.jobs}, records, now)
        # Lost only on Slurm's word: it answered, and has not shown the run's jobs for
        # lost_after_s. A round in which it could not be asked is no news.
        if answered and now - following.last_seen > self.config.lost_after_s:
            return ended(state, "UNKNOWN", records, now)
        return None
