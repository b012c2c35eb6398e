"""slurm-drmaa's side (pure): a job's Submission, the one sbatch's argv is built
from (sbatch.py), as a DRMAA job template.

slurm-drmaa reads a native specification of sbatch-style options, but only some
of them (its README and slurm_drmaa/util.c, release 1.2.0-dev.158e2fb): a long
option is `--name=value` split at the first `=` and ends at the next one, words
are split on blanks, `--mem` is a bare number of MB and `--time` is HH:MM:SS
(a bare number of minutes is refused). It has no --chdir, --output or
--job-name worth using (the template's own attributes are), no
--kill-on-invalid-dep (the site's DependencyParameters=kill_invalid_depend does
that, or the dependant of a failed job stays PENDING) and no --export (the
library sends the submitting process's whole environment, then the template's:
`job_environment` says what the job must see, the submitter narrows the
process's environment to it while it submits)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from ws_slurm.resources import MAIL_TYPES, hms, mem_mb, time_minutes
from ws_slurm.sbatch import Submission

# sbatch's long options that slurm-drmaa's native specification takes, and that
# a run's further options (`extra`) may name. The others are refused by name.
NATIVE_OPTIONS = frozenset({
    "account", "acctg-freq", "comment", "constraint", "contiguous", "cpus-per-task",
    "dependency", "exclude", "exclusive", "gres", "licenses", "mail-type", "mem",
    "mem-per-cpu", "mincpus", "no-kill", "no-requeue", "nodelist", "nodes", "ntasks",
    "ntasks-per-node", "partition", "qos", "requeue", "reservation", "share", "time",
    "tmp"})
FLAGS = frozenset({"contiguous", "exclusive", "no-kill", "no-requeue", "requeue", "share"})
# The one --mail-type word of Slurm's each that slurm-drmaa reads (no list).
DRMAA_MAIL_TYPES = MAIL_TYPES & {"BEGIN", "END", "FAIL", "REQUEUE", "ALL"}


class Unsupported(ValueError):
    """The job asks for something slurm-drmaa cannot pass to Slurm."""


@dataclass(frozen=True)
class Template:
    """What the DRMAA job template gets (attribute names as the drmaa binding's)."""

    remote_command: str  # bash text: slurm-drmaa writes it into the job's script
    job_name: str
    working_directory: str
    output_path: str  # ":" + path: DRMAA's [host]:path form; stderr is joined to it
    native_specification: str
    job_environment: Mapping[str, str] | None  # None: the submitting process's


def _native_mem(value: str) -> int:
    try:
        return mem_mb(value)
    except ValueError:
        raise Unsupported(f"--mem={value}: not a size slurm-drmaa can read") from None


def _native_minutes(value: str) -> int:
    try:
        return time_minutes(value)
    except ValueError:
        raise Unsupported(f"--time={value}: not a time slurm-drmaa can read") from None


def native_word(word: str) -> str:
    """One of the run's further sbatch options as slurm-drmaa takes it, or Unsupported
    naming the option."""
    if not word.startswith("--") or any(c.isspace() for c in word):
        raise Unsupported(f"{word!r}: only --option=value words without blanks can be "
                          "passed to slurm-drmaa")
    name, eq, value = word[2:].partition("=")
    if name not in NATIVE_OPTIONS:
        raise Unsupported(f"sbatch option --{name} is not supported by the DRMAA backend "
                          "(slurm-drmaa's native specification has no such option)")
    if name in FLAGS:
        return f"--{name}"
    if not eq or not value or "=" in value:
        raise Unsupported(f"--{name}: slurm-drmaa needs one --{name}=value without '='")
    if name == "mem":
        return f"--mem={_native_mem(value)}"
    if name == "time":
        return f"--time={hms(_native_minutes(value))}"
    if name == "mail-type" and value.upper() not in DRMAA_MAIL_TYPES:
        raise Unsupported(f"--mail-type={value}: slurm-drmaa takes one of "
                          f"{', '.join(sorted(DRMAA_MAIL_TYPES))}")
    return word


def native_specification(sub: Submission) -> str:
    """The job's resources, partition, dependencies and further options, as sbatch's
    argv has them (slurm.sbatch_argv), in slurm-drmaa's words."""
    # --no-requeue: never a second attempt (sbatch.sbatch_argv says why).
    words = [f"--cpus-per-task={sub.cpus}", "--no-requeue"]
    if sub.runtime_min is not None:
        words.append(f"--time={hms(sub.runtime_min)}")
    if sub.mem_mb is not None:
        words.append(f"--mem={sub.mem_mb}")
    if sub.partition:
        words.append(native_word(f"--partition={sub.partition}"))
    if sub.dependencies:
        if not all(d.isdigit() for d in sub.dependencies):
            raise Unsupported(f"dependencies {sub.dependencies}: not Slurm job ids")
        words.append("--dependency=afterok:" + ":".join(sub.dependencies))
    words += [native_word(w) for w in sub.extra]
    return " ".join(words)


def job_environment(export: str | None) -> dict[str, str] | None:
    """sbatch's --export value as the job's whole environment: NAME=VALUE pairs,
    NIL/NONE for none; None for ALL or no export (the submitting process's)."""
    if export is None or export.strip().upper() == "ALL":
        return None
    if export.strip().upper() in ("NIL", "NONE"):
        return {}
    env: dict[str, str] = {}
    for item in export.split(","):
        name, eq, value = item.partition("=")
        if not eq or not name.isidentifier():
            raise Unsupported(f"--export item {item!r}: the DRMAA backend takes "
                              "NAME=VALUE items, ALL or NIL")
        env[name] = value
    return env


def template(sub: Submission) -> Template:
    """The DRMAA job template of one job, as sbatch_argv(sub) submits it."""
    for path in (sub.script, sub.output, sub.chdir):
        if not path.startswith("/"):
            raise Unsupported(f"{path!r}: the DRMAA backend needs absolute paths")
    # slurm-drmaa writes the remote command as is into the script it submits
    # ("#!/bin/bash\n<command>"): quoted, the job script's path is one word.
    return Template(remote_command=shlex.quote(sub.script), job_name=sub.job_name,
                    working_directory=sub.chdir, output_path=":" + sub.output,
                    native_specification=native_specification(sub),
                    job_environment=job_environment(sub.export))
