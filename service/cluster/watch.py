"""What the poller looks at between its Slurm rounds, and the one thread that looks.

Slurm's answer (one query for every live job, at the poller's interval) says
when a job starts and when it is over. Between two answers the file system can
say sooner that a job's command has ended, so that Slurm is asked at once:

- end marks: each job script's very last step is an empty file in one folder
  shared by all runs, `<runs_dir>/.ended/<run folder's name>.<Slurm job id>`
  (ws_slurm.records). One `stat` of that folder per look, and a listing only
  when it changed: one metadata operation however many runs are live. A mark
  is removed once seen.
- the `status/` folder of a run whose job runs (Slurm said so, or has not said
  yet): looked at often while the job is young, less and less as it ages (a job
  that has run for an hour needs no look 20 times a second). For job scripts
  that make no mark (submitted by an older service, a mark folder that cannot
  be written). A run whose jobs are all PENDING is not looked at at all.

Neither is needed for a run to end: a mark or record that comes late or never
(a shared file system's attribute cache, a killed job) leaves the run to
Slurm's answer, as before.

One thread looks (Watcher), every LOOK_S, and tells the event loop only when it
found something: while nothing changes, nothing runs on the event loop and no
work is handed between threads. Watch.look is plain code, called by that thread
or by a test."""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ws_slurm import records

log = logging.getLogger(__name__)
LOOK_S = 0.05  # between two looks (a job's end is known within about this)
STATUS_AGE_SHARE = 0.05  # a running job's status/ is looked at every 1/20 of its age
STATUS_MAX_S = 5.0  # ... and at least this often
# The mark folder is listed at least this often even if its mtime did not move:
# two changes within one tick of the file system's clock leave the same mtime.
RELIST_S = 1.0
# A mark naming no followed run is kept this long (its run may be followed a
# moment later: a job can end before its submission returned), then removed.
STRAY_MARK_S = 300.0


def marks_dir(runs_dir: Path) -> Path:
    return runs_dir / records.END_MARKS


@dataclass(frozen=True)
class Watched:
    """A run whose status/ is looked at: its job runs since `since` (monotonic)."""

    status: Path
    since: float


@dataclass
class _Seen:
    next_at: float  # monotonic: when to look at this status/ again
    mtime: int | None
    exits: int


class Watch:
    """The plan (set by the event loop) and what was seen (kept by the looker)."""

    def __init__(self, marks: Path) -> None:
        self.marks = marks
        self._lock = threading.Lock()
        self._folders: Mapping[str, str] = {}  # run folder's name -> key: every run followed
        self._running: Mapping[str, Watched] = {}  # key -> its status/, runs not PENDING
        self._replanned = False
        self.followed = threading.Event()  # set while any run is followed
        # The looker's own, touched by look() alone.
        self._marks_mtime: int | None = None
        self._listed_at = -math.inf
        self._strays: dict[str, float] = {}  # mark name -> when first seen
        self._status: dict[str, _Seen] = {}

    def plan(self, folders: Mapping[str, str], running: Mapping[str, Watched]) -> None:
        """What to look at from now on (the loop gives its own copies)."""
        with self._lock:
            self._folders, self._running, self._replanned = folders, running, True
        if folders:
            self.followed.set()
        else:
            self.followed.clear()

    def look(self, now: float) -> set[str]:
        """The keys of the followed runs that show a job's end since the last look."""
        with self._lock:
            folders, running, replanned = self._folders, self._running, self._replanned
            self._replanned = False
        if replanned:
            for key in self._status.keys() - running.keys():
                del self._status[key]
        news = self._look_at_marks(now, folders, replanned)
        return news | self._look_at_status(now, running)

    def _look_at_marks(self, now: float, folders: Mapping[str, str],
                       replanned: bool) -> set[str]:
        try:
            mtime = os.stat(self.marks).st_mtime_ns
        except OSError:
            return set()
        # A stray may be a run followed since the last look: listed again then.
        if (mtime == self._marks_mtime and now - self._listed_at < RELIST_S
                and not (replanned and self._strays)):
            return set()
        self._marks_mtime, self._listed_at = mtime, now
        try:
            with os.scandir(self.marks) as entries:
                names = [e.name for e in entries if not e.is_dir(follow_symlinks=False)]
        except OSError:
            return set()
        news, strays = set(), {}
        for name in names:
            mark = records.parse_end_mark(name)
            key = folders.get(mark[0]) if mark else None
            if key is not None:
                news.add(key)
                self._remove(name)
                continue
            first = self._strays.get(name, now)
            if now - first > STRAY_MARK_S:
                self._remove(name)
            else:
                strays[name] = first
        self._strays = strays
        return news

    def _remove(self, name: str) -> None:
        try:
            os.unlink(self.marks / name)  # never follows a link: removes the link
        except FileNotFoundError:
            pass
        except OSError as e:
            log.warning("end mark %s cannot be removed: %s", name, e)

    def _look_at_status(self, now: float, running: Mapping[str, Watched]) -> set[str]:
        """A new exit record in status/ (a stat; a listing when its mtime moved:
        the jobs list being written is no news). The first look is no news."""
        news = set()
        for key, watched in running.items():
            seen = self._status.get(key)
            if seen is not None and now < seen.next_at:
                continue
            next_at = now + min(STATUS_MAX_S, max(LOOK_S, (now - watched.since)
                                                  * STATUS_AGE_SHARE))
            try:
                mtime = os.stat(watched.status).st_mtime_ns
                if seen is not None and seen.mtime == mtime:
                    seen.next_at = next_at
                    continue
                exits = sum(1 for e in os.scandir(watched.status)
                            if e.name.endswith(".exit") and e.name != "snakemake.exit")
            except OSError:
                if seen is not None:
                    seen.next_at = next_at
                else:
                    self._status[key] = _Seen(next_at, None, 0)
                continue
            if seen is not None and seen.mtime is not None and exits > seen.exits:
                news.add(key)
            self._status[key] = _Seen(next_at, mtime, exits)
        return news


class Watcher:
    """The thread that looks every LOOK_S while runs are followed (and sleeps
    while none is), and hands what it found to `tell` (in that thread: `tell`
    passes it to the event loop)."""

    def __init__(self, watch: Watch, tell: Callable[[set[str]], None],
                 monotonic: Callable[[], float]) -> None:
        self.watch = watch
        self._tell = tell
        self._monotonic = monotonic
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ws-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self.watch.followed.set()  # out of its wait for runs
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            self.watch.followed.wait()
            if self._stopping.is_set():
                return
            try:
                news = self.watch.look(self._monotonic())
                if news:
                    self._tell(news)
            except Exception:  # one bad look is no reason to stop looking
                log.exception("looking at the run folders failed")
            if self._stopping.wait(LOOK_S):
                return
