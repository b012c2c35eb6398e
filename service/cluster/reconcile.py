"""Reconciliation: the store, the run folders and Slurm compared, at start and
then on a slow interval (cluster.reconcile_interval_s).

A live cluster run nobody follows is put right:
- the store says WAIT, the ledger's view does not have the run: its folder
  decides (a final state.json: the store learns it; a live one: followed again);
- the run has no saved job ids and no submission under way (the service was
  stopped between `sbatch` and the save, or before it submitted at all): its
  jobs are taken from status/ (the executor's jobs list, once Snakemake's child
  has recorded its exit) or found in Slurm by the run's job name and folder; a
  run Slurm has no job of is submitted if no submission ever began (or no
  Snakemake child ever ran for it), else ended NOK with that cause. A run is
  never submitted twice: Slurm is asked first.

Slurm is asked at most once by squeue and once by sacct per round, for all such
runs together, and only when status/ cannot tell."""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ws_slurm import records
from ws_slurm.query import SlurmQuery

from service.cluster import byname, slurm
from service.cluster.submission_queue import SubmissionQueue
from service.cluster.submit import (
    SUBMISSION_STARTED,
    not_all_in_slurm,
    slurm_refused,
    submission_records,
)
from service.core.clock import SYSTEM_CLOCK, Clock
from service.runs.folder import RunFolder, folder_name
from service.runs.ledger import Ledger, load_state
from service.runs.record import load_record

log = logging.getLogger(__name__)
# A Snakemake child that began submitting may outlive the service that forked it
# (it is in its own session): give it this long to finish before Slurm decides.
CHILD_GRACE_S = 30.0
FAST_ROUND_S = 1.0  # next round while such a child is awaited
RETRY_S = 10.0  # next round after Slurm could not (fully) answer
# A run indexed less than this ago by this process may still be being written
# (POST: index, folder, then its submission): not lost, just young.
IN_FLIGHT_S = 600.0
SACCT_LOOKBACK_S = 3600.0  # sacct from this long before the oldest run asked about

JOB_SCRIPT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\.([0-9]{1,9})\.sh", re.ASCII)  # the executor's

ADOPT, SUBMIT, WAIT, ASK, END = "adopt", "submit", "wait", "ask", "end"


@dataclass(frozen=True)
class OrphanFacts:
    """What status/ says of a live run without saved job ids."""

    snakemake_exit: int | None  # Snakemake's child recorded its exit (submission over)
    listed: tuple[int, ...]  # Slurm ids in the executor's jobs list
    started_at: float | None  # when a submission began (status/submission.started)
    submission_error: str = ""
    # Whether a Snakemake child ever ran in the folder (it opens logs/snakemake.log
    # first): the service may die after submission.started and before the warm
    # process forked the child (or the warm process, finding the service gone,
    # left queued requests unforked). No child, nothing was submitted.
    child_began: bool = True


@dataclass(frozen=True)
class Decision:
    action: str  # ADOPT | SUBMIT | WAIT | ASK | END
    job_ids: tuple[int, ...] = ()
    cause: str = ""


def decide(facts: OrphanFacts, now: float, found: tuple[int, ...] | None = None,
           complete: bool = False) -> Decision:
    """What to do with a live run without saved job ids (pure). `found`: its jobs
    in Slurm by name (None: not asked yet); `complete`: squeue and sacct (or a
    cluster without accounting) both answered, so what is not found does not exist."""
    if facts.snakemake_exit not in (None, 0):
        return Decision(END, cause=slurm_refused(
            not_all_in_slurm(facts.submission_error, facts.snakemake_exit)))
    if facts.snakemake_exit == 0 and facts.listed:
        return Decision(ADOPT, facts.listed)
    if (facts.snakemake_exit is None and facts.started_at is not None
            and now - facts.started_at < CHILD_GRACE_S):
        return Decision(WAIT)  # the child submitting it may still be at work
    if found is None:
        return Decision(ASK)
    ids = tuple(sorted(set(found) | set(facts.listed)))
    if ids:
        return Decision(ADOPT, ids)
    if not complete:
        return Decision(WAIT)  # Slurm did not fully answer: no news
    if facts.started_at is None or not facts.child_began:
        return Decision(SUBMIT)  # never submitted, and Slurm has nothing of it
    return Decision(END, cause="the service stopped while the run's jobs were being "
                    "submitted, and Slurm has no job of the run")


def read_facts(folder: RunFolder) -> OrphanFacts:
    error, exits = submission_records(folder)
    try:
        started_at: float | None = os.lstat(folder.status / SUBMISSION_STARTED).st_mtime
    except OSError:
        started_at = None
    return OrphanFacts(snakemake_exit=exits.snakemake,
                       listed=tuple(j.slurm_id for j in exits.jobs),
                       started_at=started_at, submission_error=error,
                       child_began=os.path.lexists(folder.path / "logs" / "snakemake.log"))


class SlurmByName:
    """One squeue and (when squeue cannot tell) one sacct for all runs asked about."""

    def __init__(self, users: Callable[[], Sequence[str]] = tuple) -> None:
        # By name, squeue and sacct show the calling account's jobs only: in
        # identity mode "unix", the runs' users' are asked for.
        self.query = SlurmQuery(slurm.current_run, users=users)

    @property
    def queries(self) -> int:
        return self.query.queries

    async def find(self, runs: Mapping[str, str], since: float
                   ) -> tuple[dict[str, tuple[int, ...]] | None, bool]:
        """({key: job ids}, complete) for runs {key: job name}; None if squeue failed.
        Slurm knows a run's folder by its name, never by the key."""
        keys = {folder_name(key): key for key in runs}
        found, complete = await self.query.by_name(
            {folder: runs[key] for folder, key in keys.items()}, since)
        if found is None:
            return None, complete
        return {keys[folder]: ids for folder, ids in found.items()}, complete


class Reconciler:
    def __init__(self, ledger: Ledger, submissions: SubmissionQueue, interval_s: float,
                 slurm_names: SlurmByName | None = None, clock: Clock = SYSTEM_CLOCK
                 ) -> None:
        self.ledger = ledger
        self.store = ledger.store
        self.submissions = submissions
        self.interval_s = interval_s
        self.slurm = slurm_names or SlurmByName()
        self.clock = clock
        self._started = clock.time()

    async def run(self) -> None:
        while True:
            try:
                delay = await self.reconcile_once()
            except Exception:
                log.exception("reconciliation round failed")
                delay = self.interval_s
            await asyncio.sleep(max(delay, FAST_ROUND_S))

    async def reconcile_once(self) -> float:
        """One round; the seconds until the next: sooner than the interval while a
        run awaits its submitting child, or Slurm could not be asked."""
        await self._store_against_view()
        return min(self.interval_s, await self._orphans())

    # ---- the store against the ledger's view ------------------------------------------
    async def _store_against_view(self) -> None:
        now = self.clock.time()
        for entry in self.store.live_runs("cluster"):
            key = entry.key
            if self.ledger.live_state(key) is not None:
                continue
            if self.submissions.busy(key) or (
                    entry.created >= self._started - 1 and now - entry.created < IN_FLIGHT_S):
                continue
            folder = self.ledger.folder(key)
            try:
                state = await asyncio.to_thread(load_state, folder)
            except (OSError, ValueError, TypeError):
                log.warning("run %s: no readable state.json; ended NOK", entry.number)
                self.ledger.end_unfollowable(key)
                continue
            if not state.final:
                log.info("run %s: followed again (nobody followed it)", entry.number)
            # Final: stopped between state.json and the index, which learns it now.
            self.ledger.resume(key, state)

    # ---- live runs without job ids --------------------------------------------------------
    async def _orphans(self) -> float:
        keys = [k for k, run in self.ledger.live("cluster").items()
                if not run.state.job_ids and not self.submissions.busy(k)]
        if not keys:
            return self.interval_s
        facts = await asyncio.to_thread(self._read_all, keys)
        now = self.clock.time()
        delay, ask = self.interval_s, dict[str, str]()
        for key, (name, fact) in facts.items():
            decision = decide(fact, now) if name else Decision(
                END, cause="the run's request.json cannot be read")
            if decision.action == ASK and len(ask) < byname.MAX_RUNS_PER_QUERY:
                ask[key] = name
            elif decision.action in (WAIT, ASK):  # ASK: more than one query holds
                delay = FAST_ROUND_S
            else:
                await self._apply(key, name, decision, fact)
        if ask:
            since = min(self._created(k) for k in ask) - SACCT_LOOKBACK_S
            found, complete = await self.slurm.find(ask, since)
            for key, name in ask.items():
                decision = decide(facts[key][1], now, None if found is None
                                  else found.get(key, ()), complete)
                if decision.action in (WAIT, ASK):  # Slurm did not (fully) answer
                    delay = min(delay, RETRY_S)
                await self._apply(key, name, decision, facts[key][1])
        return delay

    def _read_all(self, keys: list[str]) -> dict[str, tuple[str, OrphanFacts]]:
        out = {}
        for key in keys:
            folder = self.ledger.folder(key)
            try:
                name = load_record(folder).jobname
            except Exception:
                name = ""
            try:
                out[key] = (name, read_facts(folder))
            except Exception:
                log.exception("reconciliation: status/ of a run cannot be read")
        return out

    def _created(self, key: str) -> float:
        entry = self.store.get_run(key)
        return entry.created if entry else self.clock.time() - 86400

    async def _apply(self, key: str, name: str, decision: Decision,
                     facts: OrphanFacts) -> None:
        state = self.ledger.live_state(key)
        if state is None or state.final or state.job_ids or self.submissions.busy(key):
            return  # settled meanwhile
        if decision.action == ADOPT:
            log.info("run %s: its jobs %s found again", name,
                     ",".join(map(str, decision.job_ids)))
            if not facts.listed:
                folder = self.ledger.folder(key)
                rebuild_jobs_list(folder.status, decision.job_ids, into=folder.meta)
            await self.submissions.submitted(key, name, decision.job_ids)
        elif decision.action == SUBMIT:
            log.info("run %s: never submitted; submitting it now", name)
            self.submissions.start(key, name)
        elif decision.action == END:
            log.warning("run %s: ended NOK: %s", name, decision.cause)
            await self.submissions.end(key, decision.cause)


def rebuild_jobs_list(status: Path, job_ids: tuple[int, ...], into: Path | None = None
                      ) -> bool:
    """The executor's jobs list (which job's exit record is whose), for a run whose
    child was cut off between sbatch and writing it: ws's workflow has one job, so
    one job script in status/ and one job found in Slurm make it whole. Written in
    status/, or `into` (the service's own folder of a unix-mode run)."""
    try:
        if any(os.path.lexists(d / "jobs.json") for d in (status, into) if d):
            return False
        scripts = [m for e in os.scandir(status) if e.is_file(follow_symlinks=False)
                   and (m := JOB_SCRIPT.fullmatch(e.name))]
        if len(scripts) != 1 or len(job_ids) != 1:
            return False
        rule, jobid = scripts[0].groups()
        records.write_jobs(str(into or status), [records.JobEntry(
            int(jobid), rule, job_ids[0], f"status/{records.exit_name(rule, int(jobid))}")])
    except OSError:
        log.exception("reconciliation: the jobs list cannot be rebuilt")
        return False
    return True

