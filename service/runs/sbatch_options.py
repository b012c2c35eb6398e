"""The sbatch options a run may ask for (`sbatch_list`), and Slurm's grammar of
times and sizes, checked before anything reaches sbatch."""

from __future__ import annotations

import re
from typing import Any

from service.core.errors import InvalidParameter

SBATCH_OPTIONS = ("mail-user", "mail-type", "time", "mem", "cpus-per-task", "partition", "qos")
MAIL_TYPES = frozenset({"NONE", "BEGIN", "END", "FAIL", "REQUEUE", "ALL", "INVALID_DEPEND",
                        "STAGE_OUT", "TIME_LIMIT", "TIME_LIMIT_90", "TIME_LIMIT_80",
                        "TIME_LIMIT_50", "ARRAY_TASKS"})
# Always used with fullmatch and re.ASCII: `$` alone would let a trailing newline
# through, and \d would take non-ASCII digits that Slurm does not read.
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", re.ASCII)
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,}", re.ASCII)
TIME_RE = re.compile(r"(?:(\d{1,6})-)?(\d{1,7})(?::(\d{1,7}))?(?::(\d{1,7}))?", re.ASCII)
MEM_RE = re.compile(r"(\d{1,12})([KMGT]?)", re.IGNORECASE | re.ASCII)
CPUS_RE = re.compile(r"[0-9]{1,4}", re.ASCII)


def time_minutes(value: str) -> int:
    """Slurm's --time, in whole minutes (seconds round up)."""
    m = TIME_RE.fullmatch(value)
    if not m:
        raise InvalidParameter(f"bad time {value!r}", ["expected minutes, MM:SS, HH:MM:SS "
                                                         "or D-HH[:MM[:SS]]"])
    days, a, b, c = (int(g) if g else None for g in m.groups())
    if days is not None:  # D-HH[:MM[:SS]]
        return days * 1440 + (a or 0) * 60 + (b or 0) + (1 if c else 0)
    if c is not None:  # HH:MM:SS
        return (a or 0) * 60 + (b or 0) + (1 if c else 0)
    if b is not None:  # MM:SS
        return (a or 0) + (1 if b else 0)
    return a or 0


def mem_mb(value: str) -> int:
    """Slurm's --mem, in MB (at least 1)."""
    m = MEM_RE.fullmatch(value)
    if not m:
        raise InvalidParameter(f"bad mem {value!r}", ["expected a size like 500M or 2G"])
    factor = {"": 1, "K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}[m.group(2).upper()]
    return max(1, int(int(m.group(1)) * factor))


def check_value(option: str, value: str) -> str:
    """The value, normalised, if `option` may take it."""
    if option == "mail-user":
        if not EMAIL_RE.fullmatch(value):
            raise InvalidParameter(f"bad mail-user {value!r}")
    elif option == "mail-type":
        kinds = value.upper().split(",")
        if not all(k in MAIL_TYPES for k in kinds):
            raise InvalidParameter(f"bad mail-type {value!r}",
                                   [f"allowed: {', '.join(sorted(MAIL_TYPES))}"])
        value = ",".join(kinds)
    elif option == "time":
        if time_minutes(value) < 1:
            raise InvalidParameter("time must be at least one minute")
    elif option == "mem":
        mem_mb(value)
    elif option == "cpus-per-task":
        if not CPUS_RE.fullmatch(value) or not 1 <= int(value) <= 1024:
            raise InvalidParameter(f"bad cpus-per-task {value!r}")
    elif not NAME_RE.fullmatch(value):  # partition, qos
        raise InvalidParameter(f"bad {option} {value!r}")
    return value


def parse_sbatch_list(raw: list[Any] | dict[str, Any] | None) -> tuple[tuple[str, str], ...]:
    """`sbatch_list` as a list of `--option=value` or an object {option: value}:
    validated (option, value) pairs; mail-user alone implies mail-type ALL."""
    if raw is None:
        return ()
    if isinstance(raw, dict):
        pairs = [(str(k), v) for k, v in raw.items()]
    else:
        pairs = []
        for item in raw:
            if not isinstance(item, str):
                raise InvalidParameter("sbatch_list must be a JSON list of strings")
            name, eq, value = item.partition("=")
            if not eq:
                raise InvalidParameter(f"bad sbatch_list item {item!r}",
                                       ["expected --option=value"])
            pairs.append((name, value))
    items: list[tuple[str, str]] = []
    for name, value in pairs:
        option = name.removeprefix("--")
        if option not in SBATCH_OPTIONS:
            raise InvalidParameter(f"sbatch option {name!r} is not allowed",
                                   [f"allowed: {', '.join(SBATCH_OPTIONS)}"])
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise InvalidParameter(f"bad value for sbatch option {name!r}")
        items.append((option, check_value(option, str(value))))
    options = dict(items)
    if "mail-user" in options and "mail-type" not in options:
        options["mail-type"] = "ALL"
    return tuple(options.items())
