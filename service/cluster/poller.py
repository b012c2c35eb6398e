"""The one background loop that follows every live cluster run.

Per round it asks the cluster backend once about all live jobs (with Slurm's
commands: `squeue`, then `sacct` for what squeue forgot; service/cluster/backend.py), then
reads the exit records of the runs whose end is in sight. So the number of
Slurm queries per minute does not grow with the number of runs. What it learns
goes to the ledger (service/runs/ledger.py), which state requests read.

Between rounds a thread of its own looks at the file system for jobs' ends
(service/cluster/watch.py: one folder of end marks for all runs, and the
status/ of runs whose job runs, never of a PENDING one) and wakes the loop only
when it saw one: then Slurm is asked at once. So following costs what happens,
not how many runs wait."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from service.cluster import slurm
from service.cluster.backend import ClusterBackend
from service.cluster.following import Following, noted, watch_plan
from service.cluster.jobstatus import settle_with_records
from service.cluster.watch import Watch, Watcher, marks_dir
from service.core.clock import SYSTEM_CLOCK, Clock
from service.core.config import ClusterConfig
from service.runs.exits import read_exit_records
from service.runs.ledger import Ledger
from service.runs.state import ExitRecords, RunState, ended, ended_jobs

log = logging.getLogger(__name__)
YOUNG_S = 60.0  # runs younger than this are polled at the fastest interval
FOLLOW_UP_S = 0.05  # first re-query after a job's end was seen (then doubling)


class Poller:
    def __init__(self, ledger: Ledger, config: ClusterConfig, backend: ClusterBackend,
                 clock: Clock = SYSTEM_CLOCK, marks: Path | None = None) -> None:
        self.ledger = ledger
        self.backend = backend
        self.config = config
        self.clock = clock
        self._following: dict[str, Following] = {}
        self._wake = asyncio.Event()
        self._minute_start, self._rounds = clock.monotonic(), 0
        # The jobs' end marks: runs_dir/.ended, or identity.end_marks in mode "unix".
        self.watch = Watch(marks or marks_dir(ledger.runs_dir))
        self._replan = True  # what the watcher looks at has changed
        self._news: set[str] = set()  # runs whose job's end was seen, not yet asked about
        self._asked = False  # poll now (a cancellation), whatever the interval

    def follow(self, key: str) -> None:
        """The run's jobs are in Slurm (and its state): follow them from now."""
        now = self.clock.time()
        self._following[key] = self._new_following(key, since=now)
        self._plan()
        self._wake.set()

    def wake(self) -> None:
        """Poll now (after a cancellation, say) rather than at the next interval."""
        self._asked = True
        self._wake.set()

    def ending(self, keys: set[str]) -> None:
        """These runs' jobs are ending (cancelled, say): ask Slurm now, and again
        soon, as for a job's end seen in its run folder."""
        self._news |= keys
        self.wake()

    def _new_following(self, key: str, since: float) -> Following:
        folder = self.ledger.folder(key)
        return Following(since=since, last_seen=self.clock.time(),
                         folder_name=folder.path.name, status=folder.status,
                         followed_at=self.clock.monotonic())

    def _live(self) -> dict[str, RunState]:
        """The live cluster runs, as the ledger has them; what is kept of the others
        is dropped, and a run loaded at start is followed from its creation."""
        live = self.ledger.live("cluster")
        if len(self._following) != len(live) or self._following.keys() != live.keys():
            self._following = {k: f for k, f in self._following.items() if k in live}
            for key, run in live.items():
                if key not in self._following:
                    self._following[key] = self._new_following(key, since=run.created)
            self._replan = True
        return {k: r.state for k, r in live.items()}

    def _plan(self) -> None:
        self._replan = False
        self.watch.plan(*watch_plan(self._following))

    def _seen_news(self, keys: set[str]) -> None:
        """From the watcher's thread (call_soon_threadsafe): jobs' ends seen."""
        self._news |= keys
        self._wake.set()

    # ---- the loop ----------------------------------------------------------------------
    async def run(self) -> None:
        """Follow the live runs until cancelled, with the watcher's thread looking
        at their folders meanwhile."""
        loop = asyncio.get_running_loop()
        try:
            await asyncio.to_thread(self.watch.marks.mkdir, mode=0o700, parents=True,
                                    exist_ok=True)
        except OSError as e:  # unix mode's is the admin's to make: runs end without
            log.warning("no end marks folder %s (%s): runs end at Slurm's answer",
                        self.watch.marks, e.strerror)

        def tell(keys: set[str]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closing
                loop.call_soon_threadsafe(self._seen_news, keys)

        watcher = Watcher(self.watch, tell, self.clock.monotonic)
        watcher.start()
        try:
            await self._follow()
        finally:
            await asyncio.to_thread(watcher.stop)

    async def _follow(self) -> None:
        """Ask Slurm at `interval` (fast while runs are young, slower as they age),
        and at once when the watcher saw a job's end (or a cancellation asks):
        a job whose command is over is COMPLETED in Slurm a moment later."""
        interval = self.config.poll_min_s
        next_query = 0.0
        ending: set[str] = set()  # runs whose job's end was seen: Slurm's word is near
        follow_up = FOLLOW_UP_S
        while True:
            self._wake.clear()
            live = self._live()
            if self._replan:
                self._plan()
            if not live:
                self._news.clear()
                await self._idle()
                interval = self.config.poll_min_s
                next_query = 0.0
                continue
            news, self._news = self._news & live.keys(), set()
            asked, self._asked = self._asked, False
            if news:
                ending |= news
                follow_up = FOLLOW_UP_S
            if news or asked or self.clock.monotonic() >= next_query:
                try:
                    await self.poll_once()
                except Exception:
                    log.exception("poll round failed")
                wall = self.clock.time()
                young = any(wall - f.since < YOUNG_S for f in self._following.values())
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
                continue  # what came during the round is looked at first
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(),
                                       max(0.0, next_query - self.clock.monotonic()))

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
            infos = {j: known[j] for j in state.job_ids if j in known}
            if noted(self._following[key], state, infos, self.clock.monotonic()):
                self._replan = True
            # One run's folder (deleted, unreadable, hostile) is that run's problem:
            # the others are followed all the same.
            try:
                new = self._update(key, state, infos, records.get(key), answered)
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
        if self._replan:
            self._plan()

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
