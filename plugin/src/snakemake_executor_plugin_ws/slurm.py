"""Slurm's side of the executor (pure): sbatch's argv, dependencies, and what
squeue/sacct say about a job, turned into an outcome."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# A job's state words, as squeue (%T) and sacct print them, Slurm 22.05 to 25.x.
# Final: the job is over for good. REQUEUED, REQUEUE_HOLD, REQUEUE_FED,
# RESV_DEL_HOLD, SUSPENDED, STOPPED, COMPLETING, CONFIGURING, RESIZING, SIGNALING,
# STAGE_OUT and the like are not: the same job id goes on. (ws's service reads
# the same set.)
FINAL = frozenset({"COMPLETED", "FAILED", "TIMEOUT", "OUT_OF_MEMORY", "CANCELLED",
                   "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "SPECIAL_EXIT",
                   "REVOKED", "LAUNCH_FAILED"})
RUNNING, SUCCESS, FAILURE = "running", "success", "failure"


@dataclass(frozen=True)
class Submission:
    script: str
    job_name: str
    chdir: str
    output: str
    cpus: int
    runtime_min: int | None = None
    mem_mb: int | None = None
    partition: str | None = None
    dependencies: tuple[str, ...] = ()
    export: str | None = None  # sbatch --export: the job's whole environment
    extra: tuple[str, ...] = field(default=())  # whole `--option=value` words


def sbatch_argv(sub: Submission, sbatch: str = "sbatch") -> list[str]:
    argv = [sbatch, "--parsable", f"--job-name={sub.job_name}", f"--chdir={sub.chdir}",
            f"--output={sub.output}", f"--cpus-per-task={sub.cpus}",
            # A dependant of a failed job is cancelled, not left pending for ever
            # (this needs no kill_invalid_depend in slurm.conf).
            "--kill-on-invalid-dep=yes"]
    if sub.runtime_min is not None:
        argv.append(f"--time={sub.runtime_min}")
    if sub.mem_mb is not None:
        argv.append(f"--mem={sub.mem_mb}M")
    if sub.partition:
        argv.append(f"--partition={sub.partition}")
    if sub.dependencies:
        argv.append("--dependency=afterok:" + ":".join(sub.dependencies))
    if sub.export is not None:
        argv.append(f"--export={sub.export}")
    argv += list(sub.extra)
    argv.append(sub.script)
    return argv


def upstream(inputs: Iterable[str], producer: Mapping[str, str]) -> tuple[str, ...]:
    """The Slurm ids of the jobs (of this workflow) that write these inputs."""
    ids = {producer[f] for f in inputs if f in producer}
    return tuple(sorted(ids, key=lambda i: (len(i), i)))


def parse_sbatch(stdout: str) -> str:
    """`sbatch --parsable` prints `jobid` or `jobid;cluster`."""
    first = stdout.strip().splitlines()[0] if stdout.strip() else ""
    job_id = first.split(";")[0].strip()
    if not job_id.isdigit():
        raise ValueError(f"sbatch gave no job id: {stdout[-200:]!r}")
    return job_id


def squeue_argv(ids: Iterable[str], squeue: str = "squeue") -> list[str]:
    return [squeue, "--noheader", "--states=all", "--format=%i|%T",
            "--jobs=" + ",".join(ids)]


def sacct_argv(ids: Iterable[str], sacct: str = "sacct") -> list[str]:
    return [sacct, "--noheader", "--parsable2", "--allocations",
            "--jobs=" + ",".join(ids), "--format=JobIDRaw,State"]


def parse_states(stdout: str) -> dict[str, str]:
    """Lines `id|STATE ...` (squeue --format=%i|%T, sacct --parsable2) -> {id: STATE}."""
    states: dict[str, str] = {}
    for line in stdout.splitlines():
        fields = line.strip().split("|")
        if len(fields) >= 2 and fields[0].isdigit() and fields[1].strip():
            states[fields[0]] = fields[1].split()[0]  # "CANCELLED by 0" -> CANCELLED
    return states


def outcome(state: str | None, exit_status: int | None) -> tuple[str, str]:
    """(RUNNING | SUCCESS | FAILURE, cause) for a job from Slurm's state and the exit
    record its script left. Success needs both: the command exited 0 and Slurm
    does not report a failure."""
    if state in FINAL and state != "COMPLETED":
        detail = "" if exit_status is None else f", command exit status {exit_status}"
        return FAILURE, f"Slurm state {state}{detail}"
    if exit_status is not None:
        if exit_status == 0:
            return SUCCESS, ""
        return FAILURE, f"command exit status {exit_status}"
    if state == "COMPLETED":
        return FAILURE, "the job COMPLETED without an exit record"
    if state is None:
        return FAILURE, "Slurm does not know the job"
    return RUNNING, ""
