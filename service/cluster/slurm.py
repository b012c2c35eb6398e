"""Slurm commands: pure argv builders and output parsers, plus one async runner.

One adapter per command (command() / parse()), tested on recorded output."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from snakemake_executor_plugin_ws import slurm as executor_slurm

from service.runs.workflow import JOB_ENVIRONMENT, job_export

# Slurm's final state words and its output parsers are the executor's (ws's
# plugin/): one reading of Slurm for the jobs it follows and for the poller.
FINAL_STATES = executor_slurm.FINAL


@dataclass(frozen=True)
class JobInfo:
    job_id: int
    state: str  # Slurm's state word: PENDING, RUNNING, COMPLETED, TIMEOUT, ...
    # FAILED that may also be a job Slurm forgot (DRMAA's `failed`): its exit
    # record decides (jobstatus.settle_with_records).
    uncertain: bool = False

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


@dataclass(frozen=True)
class SbatchJob:
    script: Path
    job_name: str
    chdir: Path
    output: Path
    time_min: int
    mem_mb: int
    cpus: int
    extra: tuple[tuple[str, str], ...] = ()  # validated (option, value): mail-user, ...
    environment: tuple[tuple[str, str], ...] = JOB_ENVIRONMENT


def sbatch_command(job: SbatchJob, sbatch: str = "sbatch") -> list[str]:
    argv = [sbatch, "--parsable", f"--job-name={job.job_name}", f"--chdir={job.chdir}",
            f"--output={job.output}", f"--time={job.time_min}", f"--mem={job.mem_mb}M",
            f"--cpus-per-task={job.cpus}", "--export=" + job_export(job.environment)]
    argv += [f"--{option}={value}" for option, value in job.extra]
    argv.append(str(job.script))
    return argv


def parse_sbatch(stdout: str) -> int:
    """`sbatch --parsable` prints `jobid` or `jobid;cluster` (ValueError without)."""
    return int(executor_slurm.parse_sbatch(stdout))


def squeue_command(squeue: str = "squeue") -> list[str]:
    # All of the service account's jobs in one call, finished ones included while
    # Slurm still remembers them (MinJobAge).
    return [squeue, "--me", "--noheader", "--states=all", "--format=%i|%T"]


def parse_states(stdout: str) -> dict[int, JobInfo]:
    """squeue's `%i|%T` and sacct's `JobIDRaw|State` lines alike ("CANCELLED by 0"
    is CANCELLED; array and heterogeneous ids, never ws's, are left out)."""
    return {int(job_id): JobInfo(int(job_id), state)
            for job_id, state in executor_slurm.parse_states(stdout).items()}




def sacct_command(job_ids: Iterable[int], sacct: str = "sacct") -> list[str]:
    ids = ",".join(str(i) for i in sorted(job_ids))
    return [sacct, "--noheader", "--parsable2", "--allocations", f"--jobs={ids}",
            "--format=JobIDRaw,State"]


def accounting_disabled(sacct_stderr: str) -> bool:
    """Whether sacct failed because the cluster keeps no accounting
    (AccountingStorageType=accounting_storage/none), not for a passing reason."""
    return "accounting storage is disabled" in sacct_stderr.lower()


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str


async def run(argv: Sequence[str], timeout: float = 30.0) -> Completed:
    """Run a Slurm command without a shell; a hung command is killed."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return Completed(-1, "", f"{argv[0]} timed out after {timeout} s")
    return Completed(proc.returncode or 0, out.decode(errors="replace"),
                     err.decode(errors="replace"))
