"""The cluster through DRMAA (cluster.backend = "drmaa"): libdrmaa (slurm-drmaa)
with the `drmaa` binding (ws_slurm.drmaa), one DRMAA session for the process
(libdrmaa allows one), opened at the first round. Submission is the warm
Snakemake's, with ws's executor told to use DRMAA too.

The library's calls block (each jobStatus is one request to slurmctld): a round
runs them all in one worker thread, never on the event loop, one jobStatus per
live job. A round in which one of them cannot reach Slurm is no news.

slurm-drmaa answers `failed` both for a job that failed and for one Slurm no
longer knows (MinJobAge after its end). A `failed` job seen alive here is a
failure: rounds are far closer together (poll_max_s) than MinJobAge, so Slurm
still knew it. One never seen alive (the service restarted, or it ended between
two rounds) is uncertain: its exit record decides
(jobstatus.settle_with_records)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from ws_slurm.drmaa import DrmaaJobs
from ws_slurm.native import Unsupported, native_word
from ws_slurm.scancel import already_over
from ws_slurm.states import JobInfo, StatesAnswer

from service.cluster.submit import SnakemakeSubmitter, WorkflowForker, end_marks_args
from service.core.errors import ClusterUnavailable, InvalidParameter
from service.runs.folder import RunFolder

log = logging.getLogger(__name__)

_session_lock = threading.Lock()
# libdrmaa allows one session per process (drmaa_init): every DrmaaControl of
# the process (one per app) shares it.
_process_session: list[DrmaaJobs] = []


def process_jobs(library: str) -> DrmaaJobs:
    """The process's one DRMAA session (opened at its first use, in a thread)."""
    with _session_lock:
        if not _process_session:
            _process_session.append(DrmaaJobs(library))
        return _process_session[0]


def executor_args(library: str) -> list[str]:
    """ws's executor told to submit through libdrmaa too (its path given, so the
    forked Snakemake needs no variable)."""
    return ["--ws-backend", "drmaa", "--ws-drmaa-library", library]


class DrmaaControl:
    """States and cancellation of the service's jobs through the process's session."""

    def __init__(self, library: str) -> None:
        self.library = library
        self.queries = 0  # jobStatus calls, for tests and benchmarks
        self._alive: set[int] = set()  # jobs seen pending, running or done
        self._cancelled: set[int] = set()  # jobs cancelled through cancel()
        self._calls = threading.Lock()  # one round's library calls at a time

    async def states(self, job_ids: set[int]) -> StatesAnswer:
        ids = sorted(job_ids)
        try:
            words = await asyncio.to_thread(self._ask, ids)
        except Exception as e:  # the library could not ask Slurm: no news
            log.warning("DRMAA could not ask Slurm: %s", e)
            return StatesAnswer({}, answered=False)
        known = {}
        for job_id, word in words.items():
            if word == "FAILED" and job_id in self._cancelled:
                word = "CANCELLED"  # as Slurm says: DRMAA says failed for every end
            uncertain = word == "FAILED" and job_id not in self._alive
            if word != "FAILED":
                self._alive.add(job_id)
            known[job_id] = JobInfo(job_id, word, uncertain=uncertain)
        self._alive &= job_ids  # nothing kept of runs no longer followed
        self._cancelled &= job_ids
        return StatesAnswer(known, answered=True)

    def _ask(self, ids: list[int]) -> dict[int, str]:
        with self._calls:
            self.queries += len(ids)
            words = process_jobs(self.library).states([str(i) for i in ids])
        return {int(i): w for i, w in words.items()}

    async def cancel(self, job_ids: Iterable[int]) -> None:
        """Cancel the jobs through DRMAA; ClusterUnavailable if Slurm cannot be told.
        Jobs already over are no error (as with scancel)."""
        ids = set(job_ids)
        await asyncio.to_thread(self._terminate, sorted(ids))
        self._cancelled |= ids
        log.info("cancelled jobs %s through DRMAA", ",".join(str(i) for i in sorted(ids)))

    def _terminate(self, ids: list[int]) -> None:
        """One job at a time (DRMAA has no call for a list): a batch of cancels
        (service/cluster/cancels.py) is one thread and one lock; every job is
        tried, the first refusal told after."""
        refused: list[Exception] = []
        with self._calls:
            jobs = process_jobs(self.library)
            for job_id in ids:
                try:
                    jobs.terminate(str(job_id))
                except Exception as e:
                    if not already_over(str(e)):
                        log.warning("DRMAA could not cancel job %s: %s", job_id, e)
                        refused.append(e)
        if refused:
            raise ClusterUnavailable("the cluster did not take the cancellation",
                                     [str(refused[0])[-500:]]) from refused[0]

    def close(self) -> None:
        with self._calls:
            process_jobs(self.library).close()


class DrmaaBackend:
    def __init__(self, forker: WorkflowForker, profile_dir: Path, library: str,
                 end_marks: Path | None = None) -> None:
        self.submitter = SnakemakeSubmitter(
            forker, profile_dir, extra_args=[*executor_args(library), *end_marks_args(end_marks)])
        self.control = DrmaaControl(library)

    @property
    def queries(self) -> int:
        return self.control.queries

    async def submit(self, folder: RunFolder) -> tuple[int, ...]:
        return await self.submitter.submit(folder)

    async def states(self, job_ids: set[int]) -> StatesAnswer:
        return await self.control.states(job_ids)

    async def cancel(self, job_ids: Iterable[int]) -> None:
        await self.control.cancel(job_ids)

    async def close(self) -> None:
        await asyncio.to_thread(self.control.close)

    def refuse_unsupported(self, sbatch: Sequence[tuple[str, str]]) -> None:
        for option, value in sbatch:
            try:
                native_word(f"--{option}={value}")
            except Unsupported as e:
                raise InvalidParameter(str(e), [
                    "this service reaches Slurm through DRMAA (cluster.backend)"]) from e
