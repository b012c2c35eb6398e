"""The sbatch options a run may ask for (`sbatch_list`), checked before anything
reaches sbatch (Slurm's grammar of times, sizes and mail types: ws_slurm.resources)."""

from __future__ import annotations

import re
from typing import Any

from ws_slurm import resources

from service.core.errors import InvalidParameter

SBATCH_OPTIONS = ("mail-user", "mail-type", "time", "mem", "cpus-per-task", "partition", "qos")
# Always used with fullmatch and re.ASCII: `$` alone would let a trailing newline
# through, and \d would take non-ASCII digits that Slurm does not read.
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", re.ASCII)
# The first character is no `-`: Slurm hands the address to the mailer's command
# line, where it would be read as an option.
EMAIL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,}",
                      re.ASCII)
CPUS_RE = re.compile(r"[0-9]{1,4}", re.ASCII)


def time_minutes(value: str) -> int:
    """Slurm's --time, in whole minutes (seconds round up)."""
    try:
        return resources.time_minutes(value)
    except ValueError:
        raise InvalidParameter(f"bad time {value!r}", ["expected minutes, MM:SS, HH:MM:SS "
                                                         "or D-HH[:MM[:SS]]"]) from None


def mem_mb(value: str) -> int:
    """Slurm's --mem, in MB (at least 1)."""
    try:
        return resources.mem_mb(value)
    except ValueError:
        raise InvalidParameter(f"bad mem {value!r}",
                               ["expected a size like 500M or 2G"]) from None


def check_value(option: str, value: str) -> str:
    """The value, normalised, if `option` may take it."""
    if option == "mail-user":
        if not EMAIL_RE.fullmatch(value):
            raise InvalidParameter(f"bad mail-user {value!r}")
    elif option == "mail-type":
        try:
            value = resources.mail_types(value)
        except ValueError:
            raise InvalidParameter(f"bad mail-type {value!r}", [
                f"allowed: {', '.join(sorted(resources.MAIL_TYPES))}"]) from None
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
