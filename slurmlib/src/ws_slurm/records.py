"""The status/ records a run's jobs leave, how they are written and how they are
read: never following a link, only regular files, a few bytes at most (they are
written outside the containers, but read as if hostile).

    <status>/jobs.json            {snakemake jobid: {"rule", "slurm_id", "exit"}}
    <status>/<rule>.<jobid>.exit  the exit status of the job's command, written by
                                  the job script outside the container
    <status>/<rule>.<jobid>.out   the job's own output (Slurm's --output)
    <status>/submission.error     why a job could not be submitted (Slurm's words)

and, outside every run folder, one folder shared by all of them:

    <runs_dir>/.ended/<run folder's name>.<Slurm job id>
                                  an empty file, a job script's very last step:
                                  whoever follows many runs lists this one folder
                                  instead of looking into each run's status/
"""

from __future__ import annotations

import json
import os
import shlex
import stat
from collections.abc import Iterable
from dataclasses import dataclass

JOBS = "jobs.json"
SUBMISSION_ERROR = "submission.error"
MAX_RECORD_BYTES = 64
# A job script's refusal of a requeued attempt: its record, and its exit status.
REQUEUED_RECORD = "requeued.exit"
REQUEUED_EXIT = 93
# A job script's refusal to start a container whose bind source now leads
# elsewhere (a link put in its place since the run was accepted).
BIND_REFUSED_RECORD = "bind.refused"
BIND_REFUSED_EXIT = 94
# The service's note that it cancelled a run whose folder grew past its bound.
DISK_EXCEEDED_RECORD = "disk.exceeded"
MAX_JOBS_BYTES = 4 * 1024 * 1024
MAX_ERROR_BYTES = 4096
# The folder (in runs_dir) of the runs' end marks.
END_MARKS = ".ended"
_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def exit_name(rule: str, jobid: int) -> str:
    return f"{rule}.{jobid}.exit"


def output_name(rule: str, jobid: int) -> str:
    return f"{rule}.{jobid}.out"


def record_function(status_dir: str) -> str:
    """The one bash function that writes a record: `record NAME VALUE` puts VALUE
    in <status_dir>/NAME atomically (a reader sees the old record or the new one,
    never half of one). Rendered into every job script."""
    d = shlex.quote(status_dir)
    return (f'record() {{ printf \'%s\\n\' "$2" > {d}/."$1".tmp && '
            f'mv -f {d}/."$1".tmp {d}/"$1"; }}')


def end_mark_trap(marks_dir: str, folder_name: str) -> str:
    """The bash line that makes a job's end mark when its script exits, whichever
    way it exits: an empty <marks_dir>/<folder_name>.<Slurm job id> (the script's
    pid where no Slurm runs it). A mark that cannot be made is no error: it only
    hastens what Slurm's answer tells anyway."""
    q = shlex.quote
    mark = f'{q(marks_dir)}/{q(folder_name)}."${{SLURM_JOB_ID:-$$}}"'
    return f"trap {q(f'{{ : > {mark}; }} 2>/dev/null')} EXIT"


def parse_end_mark(name: str) -> tuple[str, int] | None:
    """(run folder's name, job id) of an end mark's file name; None for anything
    else (a temporary file, a name someone else left)."""
    folder, dot, job = name.rpartition(".")
    if not dot or not folder or folder.startswith(".") or not job.isdigit() or len(job) > 18:
        return None
    return folder, int(job)


@dataclass(frozen=True)
class JobEntry:
    """One job of jobs.json: Snakemake's job id, its rule, its Slurm id (a process
    id for jobs run here), and where its exit record is (relative to the
    workflow's folder; readers take the plain name inside their status/)."""

    jobid: int
    rule: str
    slurm_id: int
    exit: str

    def to_json(self) -> dict[str, str]:
        return {"rule": self.rule, "slurm_id": str(self.slurm_id), "exit": self.exit}


def read_bounded(path: str, limit: int, dir_fd: int | None = None) -> bytes | None:
    """At most `limit` bytes of a regular file; None for anything else (missing,
    a link, a FIFO, a device, a folder) or a file larger than `limit`. `dir_fd`:
    `path` is a name in that folder (opened by its reader without following links)."""
    try:
        fd = os.open(path, _FLAGS, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = os.read(fd, limit + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data if len(data) <= limit else None


def parse_exit(data: bytes | None) -> int | None:
    if data is None:
        return None
    text = data.decode("ascii", errors="replace").strip()
    if not text.isdigit() or len(text) > 3:
        return None
    return int(text)


def read_exit(path: str, dir_fd: int | None = None) -> int | None:
    return parse_exit(read_bounded(path, MAX_RECORD_BYTES, dir_fd))


def read_jobs(status_dir: str, dir_fd: int | None = None) -> list[JobEntry]:
    """jobs.json's entries in Snakemake's job order; malformed ones left out
    (`dir_fd`: status/ opened by the reader, `status_dir` then "")."""
    data = read_bounded(os.path.join(status_dir, JOBS), MAX_JOBS_BYTES, dir_fd)
    if data is None:
        return []
    try:
        listed = json.loads(data)
    except ValueError:
        return []
    if not isinstance(listed, dict):
        return []
    entries = []
    for jobid, entry in listed.items():
        if not (str(jobid).isdigit() and isinstance(entry, dict)
                and str(entry.get("slurm_id", "")).isdigit()):
            continue
        entries.append(JobEntry(int(jobid), str(entry.get("rule", "")),
                                int(entry["slurm_id"]), str(entry.get("exit", ""))))
    return sorted(entries, key=lambda e: e.jobid)


def write_jobs(status_dir: str, entries: Iterable[JobEntry]) -> None:
    """Atomically: a reader sees the old list or the new one, never half of one."""
    path = os.path.join(status_dir, JOBS)
    tmp = os.path.join(status_dir, f".{JOBS}.tmp")
    with open(tmp, "w") as f:
        json.dump({str(e.jobid): e.to_json() for e in entries}, f, sort_keys=True)
    os.replace(tmp, path)


def write_record(status_dir: str, name: str, text: str) -> None:
    os.makedirs(status_dir, exist_ok=True)
    tmp = os.path.join(status_dir, f".{name}.tmp")
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, os.path.join(status_dir, name))


def read_text(path: str, limit: int = MAX_ERROR_BYTES, dir_fd: int | None = None) -> str:
    data = read_bounded(path, limit, dir_fd)
    return "" if data is None else data.decode(errors="replace").strip()
