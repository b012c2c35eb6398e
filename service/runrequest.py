"""Parse and validate a run's parameters into a RunRequest (pure: no I/O).

Everything a client sends is checked here against allowlists; what passes is
either a value the job script and workflow quote, or a validated token."""

from __future__ import annotations

import re
import shlex
import unicodedata
from dataclasses import dataclass
from typing import Any

from service.errors import InvalidParameter
from service.web.formats import FORMATS
from service.web.params import Params, UploadedFile

RETURNED_TYPES = ("stdout", "stdout.txt", "run.zip")
YES = ("yes", "true", "1")
NO = ("no", "false", "0", "")
MAIL_TYPES = frozenset({"NONE", "BEGIN", "END", "FAIL", "REQUEUE", "ALL", "INVALID_DEPEND",
                        "STAGE_OUT", "TIME_LIMIT", "TIME_LIMIT_90", "TIME_LIMIT_80",
                        "TIME_LIMIT_50", "ARRAY_TASKS"})
SBATCH_OPTIONS = ("mail-user", "mail-type", "time", "mem", "cpus-per-task", "partition", "qos")
# Always used with fullmatch and re.ASCII: `$` alone would let a trailing newline
# through, and \d would take non-ASCII digits that Slurm does not read.
MODULE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}(/[A-Za-z0-9][A-Za-z0-9._+-]{0,99})?",
                       re.ASCII)
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", re.ASCII)
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,}", re.ASCII)
TIME_RE = re.compile(r"(?:(\d{1,6})-)?(\d{1,7})(?::(\d{1,7}))?(?::(\d{1,7}))?", re.ASCII)
MEM_RE = re.compile(r"(\d{1,12})([KMGT]?)", re.IGNORECASE | re.ASCII)
CPUS_RE = re.compile(r"[0-9]{1,4}", re.ASCII)
# Singularity options a run may pass. Binds are checked apart (see _check_bind).
FLAG_OPTIONS = frozenset({"--cleanenv", "-e", "--no-home", "--writable-tmpfs", "--no-init",
                          "--no-eval", "--no-umask"})
VALUE_OPTIONS = frozenset({"--pwd", "--env"})
BIND_OPTIONS = frozenset({"--bind", "-B"})


@dataclass(frozen=True)
class Bind:
    source: str  # relative to the run's work folder, or an allowed host path
    target: str
    read_only: bool


@dataclass(frozen=True)
class RunRequest:
    cmd: str
    cmd_option: str
    singularity_options: tuple[str, ...]  # validated, without binds
    binds: tuple[Bind, ...]
    ordered_filename_list: tuple[str, ...]
    returned_type: str
    todownload: bool
    format: str
    sbatch: tuple[tuple[str, str], ...]  # validated (option, value) pairs
    module_list: tuple[str, ...]

    @property
    def sbatch_list(self) -> list[str]:
        return [f"--{k}={v}" for k, v in self.sbatch]

    def report(self, cluster: bool) -> dict[str, Any]:
        """The request as the API echoes it back in every report."""
        report: dict[str, Any] = {
            "cmd": self.cmd, "cmd_option": self.cmd_option,
            "ordered_filename_list": list(self.ordered_filename_list),
            "returned_type": self.returned_type, "todownload": self.todownload,
        }
        if cluster:
            report["sbatch_list"] = self.sbatch_list
            report["module_list"] = list(self.module_list)
        return report

    def sbatch_value(self, option: str) -> str | None:
        return dict(self.sbatch).get(option)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRequest:
        """Rebuild from request.json in a run folder."""
        return cls(
            cmd=data["cmd"], cmd_option=data["cmd_option"],
            singularity_options=tuple(data["singularity_options"]),
            binds=tuple(Bind(**b) for b in data["binds"]),
            ordered_filename_list=tuple(data["ordered_filename_list"]),
            returned_type=data["returned_type"], todownload=data["todownload"],
            format=data["format"], sbatch=tuple((k, v) for k, v in data["sbatch"]),
            module_list=tuple(data["module_list"]),
        )


def choice(params: Params, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = params.text(name, default) or default
    if value not in allowed:
        raise InvalidParameter(f"bad {name} {value!r}", [f"allowed: {', '.join(allowed)}"])
    return value


def _json_list(params: Params, name: str) -> list[Any] | dict[str, Any] | None:
    value: list[Any] | dict[str, Any] | None = params.json_value(name, (list, dict),
                                                                 "a JSON list")
    return value


def _string_list(params: Params, name: str) -> list[str]:
    value = _json_list(params, name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidParameter(f"{name} must be a JSON list of strings")
    return value


def _files_order(params: Params, files: list[UploadedFile]) -> tuple[str, ...]:
    names = [f.name for f in files]
    order = _string_list(params, "files_order")
    if not order:
        return tuple(dict.fromkeys(names))
    unknown = [n for n in order if n not in names]
    if unknown:
        raise InvalidParameter("files_order names files that were not uploaded",
                               [f"not uploaded: {n!r}" for n in unknown])
    return tuple(order)


def _check_cmd(cmd: str) -> str:
    if "\x00" in cmd:
        raise InvalidParameter("cmd may not contain NUL characters")
    return cmd


def inside(path: str, roots: tuple[str, ...]) -> bool:
    """Whether `path` is one of `roots` or under one (paths spelled plainly)."""
    stripped = (r.rstrip("/") for r in roots)
    return any(path == root or path.startswith(root + "/") for root in stripped)


def _check_bind(spec: str, allowed_binds: tuple[str, ...]) -> Bind:
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
        # (no '..', '.', '//'), and never writable. Links are resolved in runs.py.
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


def _cmd_option(raw: str, allowed_binds: tuple[str, ...] = ()
                ) -> tuple[tuple[str, ...], tuple[Bind, ...]]:
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
                binds.extend(_check_bind(spec, allowed_binds) for spec in value.split(","))
            else:
                options.extend((name, value))
        else:
            allowed = sorted(FLAG_OPTIONS | VALUE_OPTIONS | BIND_OPTIONS)
            raise InvalidParameter(f"cmd_option {name!r} is not allowed",
                                   [f"allowed: {', '.join(allowed)}"])
        i += 1
    return tuple(options), tuple(binds)


def _minutes(value: str) -> int:
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
    m = MEM_RE.fullmatch(value)
    if not m:
        raise InvalidParameter(f"bad mem {value!r}", ["expected a size like 500M or 2G"])
    factor = {"": 1, "K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}[m.group(2).upper()]
    return max(1, int(int(m.group(1)) * factor))


def time_minutes(value: str) -> int:
    return _minutes(value)


def _check_sbatch_value(option: str, value: str) -> str:
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
        if _minutes(value) < 1:
            raise InvalidParameter("time must be at least one minute")
    elif option == "mem":
        mem_mb(value)
    elif option == "cpus-per-task":
        if not CPUS_RE.fullmatch(value) or not 1 <= int(value) <= 1024:
            raise InvalidParameter(f"bad cpus-per-task {value!r}")
    elif not NAME_RE.fullmatch(value):  # partition, qos
        raise InvalidParameter(f"bad {option} {value!r}")
    return value


def _sbatch(params: Params) -> tuple[tuple[str, str], ...]:
    raw = _json_list(params, "sbatch_list")
    items: list[tuple[str, str]] = []
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
    for name, value in pairs:
        option = name.removeprefix("--")
        if option not in SBATCH_OPTIONS:
            raise InvalidParameter(f"sbatch option {name!r} is not allowed",
                                   [f"allowed: {', '.join(SBATCH_OPTIONS)}"])
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise InvalidParameter(f"bad value for sbatch option {name!r}")
        items.append((option, _check_sbatch_value(option, str(value))))
    options = dict(items)
    if "mail-user" in options and "mail-type" not in options:
        options["mail-type"] = "ALL"
    return tuple(options.items())


def _modules(params: Params) -> tuple[str, ...]:
    modules = _string_list(params, "module_list")
    for m in modules:
        if not MODULE_RE.fullmatch(m):
            raise InvalidParameter(f"bad module name {m!r}",
                                   ["expected name or name/version"])
    return tuple(modules)


def parse_run_request(params: Params, cluster: bool,
                      allowed_binds: tuple[str, ...] = ()) -> RunRequest:
    """`allowed_binds`: host paths the administrator lets runs bind read-only."""
    returned_type = choice(params, "returned_type", RETURNED_TYPES, "stdout")
    todownload_text = params.text("todownload", "no").lower()
    if todownload_text not in YES + NO:
        raise InvalidParameter(f"bad todownload {todownload_text!r}", ["allowed: yes, no"])
    todownload = todownload_text in YES
    if todownload and returned_type == "stdout":
        raise InvalidParameter("todownload=yes needs returned_type stdout.txt or run.zip",
                               ["allowed with todownload=yes: stdout.txt, run.zip"])
    fmt = choice(params, "format", FORMATS, "json")
    cmd_option = params.text("cmd_option")
    options, binds = _cmd_option(cmd_option, allowed_binds)
    if not cluster and (params.values.get("sbatch_list") or params.values.get("module_list")):
        raise InvalidParameter("sbatch_list and module_list are for cluster runs "
                               "(POST /api/software/muse/run/{name})")
    return RunRequest(
        cmd=_check_cmd(params.text("cmd")),
        cmd_option=cmd_option,
        singularity_options=options,
        binds=binds,
        ordered_filename_list=_files_order(params, params.files),
        returned_type=returned_type,
        todownload=todownload,
        format=fmt,
        sbatch=_sbatch(params) if cluster else (),
        module_list=_modules(params) if cluster else (),
    )
