"""The batch script of one job (pure): the rule's own shell command, already
wrapped for its container as Snakemake's shell() would run it, then its exit
status recorded in the status folder, outside the container's reach.

Everything but `command` (Snakemake's rendering of the rule) is quoted here."""

import os
import shlex
from dataclasses import dataclass

from ws_slurm import records

THREAD_VARIABLES = ("OMP_NUM_THREADS", "GOTO_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
PROLOGUE_FAILED = 92


@dataclass(frozen=True)
class JobScript:
    rule: str
    jobid: int
    workdir: str
    command: str
    status_dir: str  # relative to workdir: the exit record's folder
    threads: int = 1
    inputs: tuple[str, ...] = ()
    latency_wait_s: int = 0
    prologue: str | None = None  # a bash file sourced first (module loads, ...)
    # (bind source, folder it must stay in), both relative to workdir or absolute:
    # checked, links resolved, just before the container starts.
    bind_checks: tuple[tuple[str, str], ...] = ()
    # A folder shared by all runs where the script's last step makes its end mark
    # (ws_slurm.records.end_mark_trap), named by workdir's last part: ws's poller
    # lists that one folder instead of looking into every run's status/.
    end_marks: str | None = None


def parse_bind_checks(text: str | None) -> tuple[tuple[str, str], ...]:
    """`source:root,source:root` (no bind source holds `:` or `,`: Apptainer
    splits binds on them)."""
    pairs = []
    for item in (text or "").split(","):
        source, sep, root = item.partition(":")
        if item and (not sep or not source or not root):
            raise ValueError(f"bad bind check {item!r}: expected source:root")
        if item:
            pairs.append((source, root))
    return tuple(pairs)


def render(job: JobScript) -> str:
    q = shlex.quote
    exit_name = q(records.exit_name(job.rule, job.jobid))
    lines = [
        "#!/bin/bash",
        f"# ws executor: rule {job.rule}, Snakemake job {job.jobid}. No Snakemake runs",
        "# in this job: the rule's shell command, as Snakemake's shell() would run it.",
        # Braces: bash reads the whole script before running any of it.
        "{",
        f"cd {q(job.workdir)} || exit 90",
        records.record_function(job.status_dir),
        *([records.end_mark_trap(job.end_marks, os.path.basename(job.workdir.rstrip("/")))]
          if job.end_marks else []),
        # A requeued attempt (an admin's `scontrol requeue`, or a requeue on node
        # failure or preemption despite --no-requeue) would run in a work/ that the
        # first attempt's command controlled, links and all: refused.
        f'if [ "${{SLURM_RESTART_COUNT:-0}}" != 0 ]; then record {records.REQUEUED_RECORD} '
        f'"$SLURM_RESTART_COUNT"; record {exit_name} {records.REQUEUED_EXIT}; '
        f'exit {records.REQUEUED_EXIT}; fi',
    ]
    if job.bind_checks:
        # Apptainer resolves a bind's links when the container starts, maybe hours
        # after the run was accepted: whatever a link now leads to must still be
        # inside the folder the bind was allowed in.
        inside = " && ".join(f"ws_inside {q(s)} {q(r)}" for s, r in job.bind_checks)
        lines += [
            'ws_inside() { local real root; real=$(realpath -e -- "$1") && '
            'root=$(realpath -e -- "$2") || return 1; '
            'case "$real/" in "$root"/*) return 0;; esac; return 1; }',
            f"if ! {{ {inside}; }}; then record {records.BIND_REFUSED_RECORD} 1; "
            f"record {exit_name} {records.BIND_REFUSED_EXIT}; "
            f"exit {records.BIND_REFUSED_EXIT}; fi",
        ]
    if job.inputs and job.latency_wait_s > 0:
        # What Snakemake in a job does for a shared file system: wait a little for
        # the inputs (cheap when they are there).
        lines += [
            f"for f in {' '.join(q(f) for f in job.inputs)}; do",
            f"  for _ in $(seq {job.latency_wait_s * 10}); do [ -e \"$f\" ] && break; "
            "sleep 0.1; done",
            "done",
        ]
    if job.prologue:
        lines += [f"if ! source {q(job.prologue)}; then record {exit_name} {PROLOGUE_FAILED}; "
                  f"exit {PROLOGUE_FAILED}; fi"]
    lines += [
        "export " + " ".join(f"{v}={job.threads}" for v in THREAD_VARIABLES),
        "(",
        job.command,
        ")",
        "rc=$?",
        f'record {exit_name} "$rc"',
        'exit "$rc"',
        "}",
    ]
    return "\n".join(lines) + "\n"


def exit_record(job: JobScript) -> str:
    """Where the script leaves the command's exit status, relative to workdir."""
    return os.path.join(job.status_dir, records.exit_name(job.rule, job.jobid))
