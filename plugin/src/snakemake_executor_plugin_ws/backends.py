"""Where the executor's jobs go: one small interface, one object per way.

    SbatchJobs   sbatch, then squeue and sacct (ws_slurm's query), scancel
    DrmaaJobs    libdrmaa (slurm-drmaa), the sbatch options in its native words
    LocalJobs    this machine (--ws-run-here): the job script as a child process

A backend's job ids are strings, as Snakemake keeps them."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from typing import Protocol

from snakemake_interface_common.exceptions import WorkflowError
from ws_slurm import drmaa, native, scancel
from ws_slurm.query import SlurmQuery
from ws_slurm.run import Runner, run
from ws_slurm.sbatch import Submission, parse_sbatch, sbatch_argv

SBATCH_TIMEOUT_S = 60


class JobBackend(Protocol):
    # Whether asking for states queries the cluster (Snakemake's status rate
    # limiter then applies); a local child's state costs nothing to ask.
    asks_the_cluster: bool

    def submit(self, submission: Submission) -> str:
        """The job's id; WorkflowError (or OSError) with the reason if it is not in."""
        ...

    async def states(self, ids: list[str]) -> dict[str, str]:
        """Slurm's state word of each job it knows of (one left out: unknown)."""
        ...

    def cancel(self, ids: list[str]) -> None: ...

    def close(self) -> None: ...


class SbatchJobs:
    asks_the_cluster = True

    def __init__(self, runner: Runner = run) -> None:
        # By id: the account may have many jobs that are not this workflow's.
        self.query = SlurmQuery(runner, whole_account=False)

    def submit(self, submission: Submission) -> str:
        proc = subprocess.run(sbatch_argv(submission), capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=SBATCH_TIMEOUT_S)
        if proc.returncode != 0:
            raise WorkflowError(f"sbatch exited with status {proc.returncode}: "
                                f"{proc.stderr.strip()[-500:]}")
        return str(parse_sbatch(proc.stdout))

    async def states(self, ids: list[str]) -> dict[str, str]:
        answer = await self.query.states({int(i) for i in ids})
        return {str(i): info.state for i, info in answer.known.items()}

    def cancel(self, ids: list[str]) -> None:
        subprocess.run(scancel.scancel_argv(int(i) for i in ids), capture_output=True,
                       check=False)

    def close(self) -> None:
        pass


class DrmaaJobs:
    asks_the_cluster = True

    def __init__(self, library: str | None, logger: logging.Logger) -> None:
        self.jobs = drmaa.DrmaaJobs(library)
        self.logger = logger

    def submit(self, submission: Submission) -> str:
        if submission.dependencies:
            # slurm-drmaa has no --kill-on-invalid-dep (ws_slurm.native).
            self.logger.info("DRMAA: a dependant of a failed job is cancelled only "
                             "where slurm.conf sets kill_invalid_depend")
        try:
            return self.jobs.submit(native.template(submission))
        except drmaa.DrmaaError as e:
            raise WorkflowError(str(e)) from e

    async def states(self, ids: list[str]) -> dict[str, str]:
        try:
            return await asyncio.to_thread(self.jobs.states, ids)
        except Exception as e:  # DRMAA could not ask Slurm: no news this round
            self.logger.warning(f"DRMAA status round failed: {e}")
            return {i: "PENDING" for i in ids}

    def cancel(self, ids: list[str]) -> None:
        self.jobs.cancel(ids)

    def close(self) -> None:
        self.jobs.close()


class LocalJobs:
    asks_the_cluster = False

    def __init__(self) -> None:
        self.children: dict[str, subprocess.Popen[bytes]] = {}

    def submit(self, submission: Submission) -> str:
        with open(submission.output, "wb") as out:
            proc = subprocess.Popen(["bash", submission.script], stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT)
        self.children[str(proc.pid)] = proc
        return str(proc.pid)

    async def states(self, ids: list[str]) -> dict[str, str]:
        return {i: "COMPLETED" if self.children[i].poll() is not None else "RUNNING"
                for i in ids}

    def cancel(self, ids: list[str]) -> None:
        for i in ids:
            if self.children[i].poll() is None:
                self.children[i].kill()

    def close(self) -> None:
        pass


BACKENDS = ("cli", "drmaa")


def backend_for(name: str, run_here: bool, drmaa_library: str | None,
                logger: logging.Logger) -> JobBackend:
    if name not in BACKENDS:
        raise WorkflowError(f"executor ws: backend {name!r}: cli or drmaa")
    if run_here:
        return LocalJobs()
    if name == "drmaa":
        return DrmaaJobs(drmaa_library, logger)
    return SbatchJobs()
