"""The Singularity options a run may pass in `cmd_option`: an allowlist of
flags, `--pwd`/`--env` values, and binds of the run folder or of host paths
the administrator allows (read-only)."""

from __future__ import annotations

import shlex
import unicodedata
from dataclasses import dataclass

from service.core.errors import InvalidParameter

FLAG_OPTIONS = frozenset({"--cleanenv", "-e", "--no-home", "--writable-tmpfs", "--no-init",
                          "--no-eval", "--no-umask"})
VALUE_OPTIONS = frozenset({"--pwd", "--env"})
BIND_OPTIONS = frozenset({"--bind", "-B"})


@dataclass(frozen=True)
class Bind:
    source: str  # relative to the run's work folder, or an allowed host path
    target: str
    read_only: bool


def inside(path: str, roots: tuple[str, ...]) -> bool:
    """Whether `path` is one of `roots` or under one (paths spelled plainly)."""
    stripped = (r.rstrip("/") for r in roots)
    return any(path == root or path.startswith(root + "/") for root in stripped)


def check_bind(spec: str, allowed_binds: tuple[str, ...]) -> Bind:
    parts = spec.split(":")
    if len(parts) not in (1, 2, 3) or not all(parts[:2]):
        raise InvalidParameter(f"bad bind {spec!r}", ["expected src[:dest[:ro|rw]]"])
    source = parts[0]
    target = parts[1] if len(parts) > 1 else source
    mode = parts[2] if len(parts) > 2 else ""
    if mode not in ("ro", "rw", ""):
        raise InvalidParameter(f"bad bind mode {mode!r}", ["allowed: ro, rw"])
    hint = ["binds may only name a path inside the run folder, relative to it"]
    if allowed_binds:
        hint.append(f"or one of the host paths the administrator allows (read-only): "
                    f"{', '.join(allowed_binds)}")
    segments = source.split("/")
    if source.startswith("/"):
        # A host path: only under an administrator's allowed path, spelled plainly
        # (no '..', '.', '//'), and never writable. Links are resolved in lifecycle.py.
        if any(p in ("..", ".", "") for p in segments[1:]) \
                or not inside(source, allowed_binds):
            raise InvalidParameter(f"bind source {source!r} is not allowed", hint)
        if mode == "rw":
            raise InvalidParameter(f"bind source {source!r} is a host path: read-only",
                                   ["use :ro or no mode"])
        read_only = True
    else:
        if any(p in ("..", "") for p in segments):
            raise InvalidParameter(f"bind source {source!r} is not allowed", hint)
        read_only = mode == "ro"
    if not target.startswith("/") or ".." in target.split("/") or target == "/":
        raise InvalidParameter(f"bind target {target!r} must be an absolute path other than /")
    return Bind(source, target, read_only)


def parse_cmd_option(raw: str, allowed_binds: tuple[str, ...] = ()
                     ) -> tuple[tuple[str, ...], tuple[Bind, ...]]:
    """`cmd_option` as (options without binds, binds); anything else is refused."""
    try:
        words = shlex.split(raw)
    except ValueError as e:
        raise InvalidParameter("cmd_option cannot be parsed as shell words", [str(e)]) from e
    options: list[str] = []
    binds: list[Bind] = []
    i = 0
    while i < len(words):
        word = words[i]
        name, eq, inline = word.partition("=")
        if name in FLAG_OPTIONS and not eq:
            options.append(name)
        elif name in VALUE_OPTIONS or name in BIND_OPTIONS:
            if eq:
                value = inline
            elif i + 1 < len(words):
                i += 1
                value = words[i]
            else:
                raise InvalidParameter(f"cmd_option {name} needs a value")
            if any(unicodedata.category(c)[0] == "C" for c in value):
                raise InvalidParameter(f"bad value for {name}",
                                       ["control characters are not allowed"])
            if name in BIND_OPTIONS:
                binds.extend(check_bind(spec, allowed_binds) for spec in value.split(","))
            else:
                options.extend((name, value))
        else:
            allowed = sorted(FLAG_OPTIONS | VALUE_OPTIONS | BIND_OPTIONS)
            raise InvalidParameter(f"cmd_option {name!r} is not allowed",
                                   [f"allowed: {', '.join(allowed)}"])
        i += 1
    return tuple(options), tuple(binds)
