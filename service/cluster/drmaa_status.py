"""Job states through DRMAA (cluster.backend = "drmaa"): libdrmaa (slurm-drmaa)
with the `drmaa` binding, the executor's DrmaaJobs, one DRMAA session for the
process (libdrmaa allows one), opened at the first round.

The library's calls block (each jobStatus is one request to slurmctld): a round
runs them all in one worker thread, never on the event loop, one jobStatus per
live job. A round in which one of them cannot reach Slurm is no news.

slurm-drmaa answers `failed` both for a job that failed and for one Slurm no
longer knows (MinJobAge after its end). A `failed` job this source has seen
alive is a failure: rounds are far closer together (poll_max_s) than MinJobAge,
so Slurm still knew it. One it never saw alive (the service restarted, or it
ended between two rounds) is uncertain: its exit record decides (the poller's
jobstatus.settle_with_records)."""

from __future__ import annotations

import asyncio
import logging
import threading

from snakemake_executor_plugin_ws.drmaa_jobs import DrmaaJobs

from service.cluster import slurm

log = logging.getLogger(__name__)

_session_lock = threading.Lock()
# libdrmaa allows one session per process (drmaa_init): every DrmaaStatus of
# the process (one per app) shares it.
_process_session: list[DrmaaJobs] = []


def process_jobs(library: str) -> DrmaaJobs:
    """The process's one DRMAA session (opened at its first use, in a thread)."""
    with _session_lock:
        if not _process_session:
            _process_session.append(DrmaaJobs(library))
        return _process_session[0]


class DrmaaStatus:
    def __init__(self, library: str) -> None:
        self.library = library
        self.queries = 0  # jobStatus calls, for tests and benchmarks
        self.answered = False
        self._alive: set[int] = set()  # jobs seen pending, running or done
        self._calls = threading.Lock()  # one round's library calls at a time

    async def states(self, job_ids: set[int]) -> dict[int, slurm.JobInfo]:
        ids = sorted(job_ids)
        try:
            words = await asyncio.to_thread(self._ask, ids)
        except Exception as e:  # the library could not ask Slurm: no news
            self.answered = False
            log.warning("DRMAA could not ask Slurm: %s", e)
            return {}
        self.answered = True
        known = {}
        for job_id, word in words.items():
            uncertain = word == "FAILED" and job_id not in self._alive
            if word != "FAILED":
                self._alive.add(job_id)
            known[job_id] = slurm.JobInfo(job_id, word, uncertain=uncertain)
        self._alive &= job_ids  # nothing kept of runs no longer followed
        return known

    def _ask(self, ids: list[int]) -> dict[int, str]:
        with self._calls:
            self.queries += len(ids)
            words = process_jobs(self.library).states([str(i) for i in ids])
        return {int(i): w for i, w in words.items()}

    def close(self) -> None:
        with self._calls:
            process_jobs(self.library).close()
