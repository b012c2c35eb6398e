"""The files a job of this executor leaves in its status folder, and how they are
read: never following a link, only regular files, a few bytes at most.

    <status_dir>/jobs.json            {snakemake jobid: {"rule", "slurm_id", "exit"}}
    <status_dir>/<rule>.<jobid>.exit  the exit status of the job's command, written by
                                      the job script outside the container
    <status_dir>/<rule>.<jobid>.out   the job's own output (Slurm's --output)
    <status_dir>/submission.error     why a job could not be submitted (sbatch's words)
"""

import json
import os
import stat
from typing import Any

MAX_RECORD_BYTES = 64
MAX_JOBS_BYTES = 4 * 1024 * 1024
MAX_ERROR_BYTES = 4096
SUBMISSION_ERROR = "submission.error"
_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def exit_name(rule: str, jobid: int) -> str:
    return f"{rule}.{jobid}.exit"


def output_name(rule: str, jobid: int) -> str:
    return f"{rule}.{jobid}.out"


def read_bounded(path: str, limit: int) -> bytes | None:
    """At most `limit` bytes of a regular file; None for anything else (missing,
    a link, a FIFO, a device, a folder) or a file larger than `limit`."""
    try:
        fd = os.open(path, _FLAGS)
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


def read_exit(path: str) -> int | None:
    return parse_exit(read_bounded(path, MAX_RECORD_BYTES))


def read_jobs(status_dir: str) -> dict[str, dict[str, Any]]:
    data = read_bounded(os.path.join(status_dir, "jobs.json"), MAX_JOBS_BYTES)
    if data is None:
        return {}
    try:
        jobs = json.loads(data)
    except ValueError:
        return {}
    return jobs if isinstance(jobs, dict) else {}


def write_jobs(status_dir: str, jobs: dict[str, dict[str, Any]]) -> None:
    """Atomically: a reader sees the old or the new list, never half of one."""
    path = os.path.join(status_dir, "jobs.json")
    tmp = os.path.join(status_dir, ".jobs.json.tmp")
    with open(tmp, "w") as f:
        json.dump(jobs, f, sort_keys=True)
    os.replace(tmp, path)


def write_record(status_dir: str, name: str, text: str) -> None:
    os.makedirs(status_dir, exist_ok=True)
    tmp = os.path.join(status_dir, f".{name}.tmp")
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, os.path.join(status_dir, name))


def read_text(path: str, limit: int = MAX_ERROR_BYTES) -> str:
    data = read_bounded(path, limit)
    return "" if data is None else data.decode(errors="replace").strip()
