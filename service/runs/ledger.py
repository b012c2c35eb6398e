"""The run ledger: the one place where runs are created, change state and are
forgotten.

A change is written to the run's state.json (atomically, off the event loop),
then the index (SQLite) learns it, then the view of live runs, and the state
calls waiting for news wake. The run folder stays the record of truth: the
view is rebuilt from the folders at start (load) and the index can be (reindex)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from service.core import atomic
from service.core.clock import SYSTEM_CLOCK, Clock
from service.core.errors import StorageQuotaExceeded, TooManyRuns
from service.core.store import Store
from service.runs import disk_use, legacy_folders
from service.runs import folder as runfolder
from service.runs.folder import RunFolder
from service.runs.placement import Placement, ServicePlacement
from service.runs.record import RunRecord
from service.runs.reindex import has_run_folders, index_entries
from service.runs.state import ENDED_NOK, NOK, RunState

log = logging.getLogger(__name__)
INTERRUPTED = "the service restarted during the run"
MB = 1024 * 1024


def load_state(folder: RunFolder) -> RunState:
    """The run's state.json (OSError, ValueError, TypeError if it cannot be read)."""
    data = atomic.read_json(folder.state_file)
    if not isinstance(data, dict):
        raise ValueError("state.json is not an object")
    return RunState.from_dict(data)


def _write_state(folder: RunFolder, state: RunState) -> None:
    atomic.write_json(folder.state_file, state.to_dict())


@dataclass(frozen=True)
class LiveRun:
    kind: str  # "cluster" | "local"
    created: float
    state: RunState


class Ledger:
    def __init__(self, store: Store, runs_dir: Path, clock: Clock = SYSTEM_CLOCK,
                 placement: Placement | None = None) -> None:
        self.store = store
        self.runs_dir = runs_dir
        # Where run folders are (placement.py): runs_dir, or each Unix user's own.
        self.placement = placement or ServicePlacement(runs_dir)
        self.clock = clock
        self._live: dict[str, LiveRun] = {}
        # State changes are written (and synced) by threads of their own: a round
        # that ends many runs, or a burst of submissions, must not fill the shared
        # pool that POSTs build their run folders in (a 60-POST burst was accepted
        # in twice the time when they shared it).
        self._writer = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ws-ledger")
        self.measurer = disk_use.Measurer()  # ended runs' folders, for the quota
        self._changed = asyncio.Event()  # set, then replaced, at every change
        # One change of a run at a time: its writes land in the order they were asked.
        self._writing: dict[str, asyncio.Lock] = {}

    def close(self) -> None:
        """Wait for the state writes under way (the service is stopping)."""
        self._writer.shutdown(wait=True)
        self.measurer.close()

    def folder(self, key: str) -> RunFolder:
        return self.placement.folder(key)

    # ---- creating and forgetting -------------------------------------------------------
    async def create(self, kind: str, software: str, owner: str,
                     record_for: Callable[[str, int, float], RunRecord],
                     build: Callable[[RunRecord], Path],
                     max_live_runs: int | None = None, max_stored_bytes: int | None = None
                     ) -> tuple[RunFolder, RunRecord]:
        """Index a new run, build its folder (`build`: in a staging folder, off the
        event loop), add its first state and publish it, synced: the run is on disk
        for good, whole, or nowhere (no index row either). TooManyRuns if the owner
        has `max_live_runs` live runs already: counted and reserved (indexed) with
        nothing awaited in between, so concurrent requests cannot all pass.
        StorageQuotaExceeded if the owner's ended runs keep `max_stored_bytes`."""
        if max_stored_bytes and (kept := self.store.stored_bytes_of(owner)) >= max_stored_bytes:
            raise StorageQuotaExceeded(
                f"{owner}'s ended runs keep {kept // MB} MB on disk, and each user may keep "
                f"{max_stored_bytes // MB} MB", ["old runs are deleted by retention; ask the "
                                                 "administrator to delete some sooner"])
        if max_live_runs is not None and self.store.count_live_runs(owner) >= max_live_runs:
            raise TooManyRuns(f"{owner} has {max_live_runs} runs going on already; wait "
                              "for one to end")
        key = runfolder.new_key()
        created = self.clock.time()
        number = self.store.add_run(key, software, owner, kind, created)
        record = record_for(key, number, created)
        state = RunState(updated=created)
        try:
            folder = await asyncio.to_thread(self._publish, build, record, state)
        except BaseException:
            self.placement.remove(key)  # published, then a sync failed
            self.store.remove_run(key)
            raise
        self._live[key] = LiveRun(kind, created, state)
        return folder, record

    def _publish(self, build: Callable[[RunRecord], Path], record: RunRecord,
                 state: RunState) -> RunFolder:
        return self.placement.publish(build(record), record.key, lambda into: atomic.write_json(
            into / "state.json", state.to_dict(), durable=False))

    def discard(self, key: str) -> None:
        """Forget a run that never ran (Slurm refused it, no local slot): no trace."""
        self.placement.remove(key)  # before forget: it may need the run's owner
        self.forget(key)

    def forget(self, key: str) -> None:
        """A run whose folder is (being) removed: out of the index and the view."""
        self._live.pop(key, None)
        self._writing.pop(key, None)
        self.store.remove_run(key)

    # ---- changing ------------------------------------------------------------------------
    async def change(self, key: str, state: RunState) -> None:
        """The run is now in `state`: state.json, the index, the view, the waiters.
        OSError if state.json cannot be written (nothing else learns it then)."""
        lock = self._writing.setdefault(key, asyncio.Lock())
        async with lock:
            await asyncio.get_running_loop().run_in_executor(
                self._writer, _write_state, self.folder(key), state)
            self._learn(key, state)
        if state.final:
            self._writing.pop(key, None)

    def resume(self, key: str, state: RunState) -> None:
        """A live run read back from its folder (nobody followed it): into the view,
        nothing written."""
        self._learn(key, state)

    def end_unfollowable(self, key: str) -> None:
        """A live run whose folder cannot tell its state (gone, unreadable): without
        its jobs nobody can follow it; the index ends it NOK."""
        self._live.pop(key, None)
        self.store.set_run_cr(key, NOK)
        self._wake_waiters()

    def _learn(self, key: str, state: RunState) -> None:
        if state.final:
            # The index first: if it is locked, the run stays in the view, followed,
            # and its next change tries again.
            self.store.set_run_cr(key, state.cr)
            # From now on state.json alone answers: the view holds live runs only,
            # so it does not grow with every run the service ever had.
            self._live.pop(key, None)
            # Keys are capabilities: log the job id, never the key.
            log.info("job %s ended %s %s", state.job_id, state.latest_state, state.cause)
            self._measure_later(key)
        elif key in self._live:
            self._live[key] = replace(self._live[key], state=state)
        else:
            entry = self.store.get_run(key)
            self._live[key] = LiveRun(entry.kind if entry else "cluster",
                                      entry.created if entry else self.clock.time(), state)
        self._wake_waiters()

    def _measure_later(self, key: str) -> None:
        """What the ended run's folder takes on disk, into the index, soon."""
        def measured(stored_bytes: int) -> None:
            if self.store.get_run(key) is not None:  # not forgotten meanwhile
                self.store.set_run_bytes(key, stored_bytes)

        self.measurer.later(self.folder(key).path, measured)

    def _wake_waiters(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # ---- reading -------------------------------------------------------------------------
    def changed(self) -> asyncio.Event:
        """An event set at the next change of any run (for waiting state calls)."""
        return self._changed

    def live_state(self, key: str) -> RunState | None:
        live = self._live.get(key)
        return live.state if live else None

    def state_of(self, key: str) -> RunState:
        """The live view, fresher than state.json, else state.json (OSError,
        ValueError, TypeError if it cannot be read)."""
        live = self._live.get(key)
        return live.state if live else load_state(self.folder(key))

    def live(self, kind: str) -> dict[str, LiveRun]:
        return {k: r for k, r in self._live.items() if r.kind == kind}

    # ---- at start ------------------------------------------------------------------------
    async def load(self) -> None:
        """After a (re)start: the index rebuilt if it was lost, local runs cut off
        by the restart ended, and every live cluster run read from its folder."""
        renamed = await asyncio.to_thread(legacy_folders.rename, self.runs_dir)
        if renamed:
            log.warning("%d run folders named by their key (an older ws) renamed", renamed)
        if not self.store.has_runs() and await asyncio.to_thread(
                has_run_folders, self.placement):
            count = await asyncio.to_thread(self.reindex)
            log.warning("the run index was empty: rebuilt from %d run folders", count)
        await self._end_interrupted_local_runs()
        entries = self.store.live_runs("cluster")
        states = await asyncio.to_thread(self._read_states, [e.key for e in entries])
        for entry in entries:
            state = states.get(entry.key)
            if state is None:
                log.warning("job of run %s: no readable state.json; ended NOK",
                            entry.number)
                self.end_unfollowable(entry.key)
            elif state.final:  # stopped between state.json and the index
                self.store.set_run_cr(entry.key, state.cr)
            else:
                self._live[entry.key] = LiveRun("cluster", entry.created, state)
        for key in self.store.unmeasured_runs():  # ended before the service measured
            self._measure_later(key)

    async def _end_interrupted_local_runs(self) -> None:
        """A local run still WAIT was cut off by a restart (nothing runs it any
        more, unlike a cluster run): end it, with that cause."""
        entries = self.store.live_runs("local")
        states = await asyncio.to_thread(self._read_states, [e.key for e in entries])
        for entry in entries:
            state = states.get(entry.key) or RunState()
            try:
                await self.change(entry.key, state.moved_to(
                    self.clock.time(), cr=NOK, latest_cr=ENDED_NOK, cause=INTERRUPTED))
            except OSError:
                self.end_unfollowable(entry.key)

    def _read_states(self, keys: list[str]) -> dict[str, RunState]:
        found = {}
        for key in keys:
            try:
                found[key] = load_state(self.folder(key))
            except (OSError, ValueError, TypeError):
                continue
        return found

    def reindex(self) -> int:
        """Rebuild the index from the placement's runs (reindex.py: what is left
        out and why); the number of runs indexed."""
        entries = index_entries(self.store, self.placement)
        self.store.replace_runs(entries)
        return len(entries)
