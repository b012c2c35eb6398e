"""The one rule for the names of users, softwares and containers.

Names end up in file paths, Slurm job names and HTML pages, so only a small
alphabet is accepted, and it cannot start with a dot or a dash."""

from __future__ import annotations

import re

from service.core.errors import InvalidParameter

# Always used with fullmatch: `$` also matches before a trailing newline.
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", re.ASCII)


def is_name(value: object) -> bool:
    return isinstance(value, str) and NAME_RE.fullmatch(value) is not None


def check_name(kind: str, value: object) -> str:
    """`value` as a valid name of a `kind` (user, software, container)."""
    if not isinstance(value, str) or not is_name(value):
        raise InvalidParameter(
            f"bad {kind} name {value!r}",
            ["1 to 64 characters among letters, digits, '_', '.', '-'; "
             "the first one a letter or digit"])
    return value
