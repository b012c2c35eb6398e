"""Which environment modules exist: a run's module_list is checked against the
module tool (Lmod) before the run is accepted, so a typo is a 400 at once
rather than a job that fails in the queue later.

The answer of `module -t avail` is kept for a short while (config
cluster.module_cache_s): a burst of POSTs asks the tool once."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from service.core.config import ClusterConfig
from service.core.errors import ClusterUnavailable, InvalidParameter

TOOL_TIMEOUT_S = 30.0
# A name missing from a cached list is looked up again if the list is older than
# this: a module installed a moment ago is found, and a burst of requests naming
# unknown modules still runs the tool at most once per interval.
RECHECK_UNKNOWN_AFTER_S = 2.0
# The module paths come as positional arguments ("$@"), never inside the script
# text, so no path is ever read by a shell as code. Lmod writes `avail` to stderr.
AVAIL_SCRIPT = ('source "$1" || exit 97; shift; '
                'for p in "$@"; do module use "$p" || exit 98; done; '
                "module -t avail 2>&1")
# Lmod marks some entries, e.g. "hello/1.0(default)" or "hello/1.0 <L>".
_MARK_RE = re.compile(r"\s*(\([^)]*\)|<[^>]*>)\s*$")


def parse_avail(text: str) -> frozenset[str]:
    """The loadable names in `module -t avail` output: every `name/version`, and
    every `name` (loading a name alone picks its default version)."""
    names: set[str] = set()
    for raw in text.splitlines():
        line = raw.strip()
        while True:
            stripped = _MARK_RE.sub("", line)
            if stripped == line:
                break
            line = stripped
        line = line.rstrip("/")
        if not line or line.endswith(":") or " " in line:
            continue  # a module path header, or a message
        names.add(line)
        names.add(line.split("/", 1)[0])
    return frozenset(names)


def avail_argv(lmod_init: Path, module_paths: Sequence[str]) -> list[str]:
    return ["bash", "-c", AVAIL_SCRIPT, "ws-modules", str(lmod_init), *module_paths]


async def run_tool(argv: list[str]) -> tuple[int, str]:
    """Run the module tool: (exit status, its output)."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), TOOL_TIMEOUT_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        return 124, "the module tool did not answer in time"
    return proc.returncode or 0, out.decode(errors="replace")


@dataclass
class ModuleCatalogue:
    """The modules available on the cluster, asked to the module tool and cached."""

    lmod_init: Path
    module_paths: tuple[str, ...]
    ttl_s: float
    runner: Callable[[list[str]], Awaitable[tuple[int, str]]] | None = None  # tests
    clock: Callable[[], float] = time.monotonic
    _cached: frozenset[str] | None = None
    _fetched: float = 0.0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def from_config(cls, cluster: ClusterConfig) -> ModuleCatalogue:
        return cls(cluster.lmod_init, cluster.module_paths, cluster.module_cache_s)

    async def available(self, max_age_s: float | None = None) -> frozenset[str]:
        """The available names, from a cached answer younger than `max_age_s`
        (default: the configured cache time)."""
        max_age = self.ttl_s if max_age_s is None else max_age_s
        # One caller asks the tool; the others of a burst wait for its answer.
        async with self._lock:
            if self._cached is not None and self.clock() - self._fetched < max_age:
                return self._cached
            argv = avail_argv(self.lmod_init, self.module_paths)
            if self.runner is not None:
                status, output = await self.runner(argv)
            else:
                status, output = await run_tool(argv)
            if status != 0:
                # Not cached: the next request asks again.
                raise ClusterUnavailable("the list of environment modules cannot be read",
                                         [output.strip()[-500:]] if output.strip() else [])
            self._cached = parse_avail(output)
            self._fetched = self.clock()
            return self._cached

    async def check(self, names: Sequence[str]) -> None:
        """Refuse (400, naming them) the modules the tool does not know."""
        if not names:
            return
        known = await self.available()
        unknown = [n for n in names if n not in known]
        if unknown:
            known = await self.available(max_age_s=RECHECK_UNKNOWN_AFTER_S)
            unknown = [n for n in names if n not in known]
        if unknown:
            raise InvalidParameter(
                f"unknown module{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
                [f"not available on this cluster: {n!r}" for n in unknown]
                + ["`module avail` on the cluster lists the available modules"])
