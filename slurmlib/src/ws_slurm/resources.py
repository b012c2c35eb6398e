"""Slurm's grammar of times, sizes and mail types, as sbatch reads them.
ValueError for what Slurm would not read; the caller says it in its own words."""

from __future__ import annotations

import re

# sbatch --mail-type's words (a comma-separated list of them).
MAIL_TYPES = frozenset({"NONE", "BEGIN", "END", "FAIL", "REQUEUE", "ALL", "INVALID_DEPEND",
                        "STAGE_OUT", "TIME_LIMIT", "TIME_LIMIT_90", "TIME_LIMIT_80",
                        "TIME_LIMIT_50", "ARRAY_TASKS"})
# Always used with fullmatch and re.ASCII: `$` alone would let a trailing newline
# through, and \d would take non-ASCII digits that Slurm does not read.
TIME_RE = re.compile(r"(?:(\d{1,6})-)?(\d{1,7})(?::(\d{1,7}))?(?::(\d{1,7}))?", re.ASCII)
MEM_RE = re.compile(r"(\d{1,12})([KMGT]?)", re.IGNORECASE | re.ASCII)
SIZE_MB = {"": 1, "K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}


def time_minutes(value: str) -> int:
    """sbatch's --time (M, M:S, H:M:S, D-H, D-H:M, D-H:M:S) in whole minutes
    (seconds round up)."""
    m = TIME_RE.fullmatch(value)
    if not m:
        raise ValueError(f"not a Slurm time: {value!r}")
    days, a, b, c = (int(g) if g else None for g in m.groups())
    if days is not None:  # D-HH[:MM[:SS]]
        return days * 1440 + (a or 0) * 60 + (b or 0) + (1 if c else 0)
    if c is not None:  # HH:MM:SS
        return (a or 0) * 60 + (b or 0) + (1 if c else 0)
    if b is not None:  # MM:SS
        return (a or 0) + (1 if b else 0)
    return a or 0


def mem_mb(value: str) -> int:
    """sbatch's --mem size (500, 500M, 2G...) in MB, at least 1."""
    m = MEM_RE.fullmatch(value)
    if not m:
        raise ValueError(f"not a Slurm size: {value!r}")
    return max(1, int(int(m.group(1)) * SIZE_MB[m.group(2).upper()]))


def hms(minutes: int) -> str:
    """Minutes as HH:MM:SS (hours may exceed 24)."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def mail_types(value: str) -> str:
    """--mail-type's list, upper-cased, if Slurm reads every word of it."""
    kinds = value.upper().split(",")
    if not all(k in MAIL_TYPES for k in kinds):
        raise ValueError(f"not Slurm mail types: {value!r}")
    return ",".join(kinds)
