"""The module check: parsing `module -t avail`, the cache, and the refusals."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from service.cluster.modules import AVAIL_SCRIPT, ModuleCatalogue, avail_argv, parse_avail
from service.core.errors import ClusterUnavailable, InvalidParameter

AVAIL = """/home/ws/modulefiles:
hello/
hello/1.0
hello/2.0(default)
tools/gcc/12 <L>
/usr/share/lmod/lmod/modulefiles:
Core/
Core/lmod
"""


class FakeTool:
    def __init__(self, output: str = AVAIL, status: int = 0) -> None:
        self.output, self.status, self.calls = output, status, 0

    async def __call__(self, argv: list[str]) -> tuple[int, str]:
        self.calls += 1
        await asyncio.sleep(0.01)  # long enough for a burst to pile up
        return self.status, self.output


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def catalogue(tool: FakeTool, clock: Clock | None = None) -> ModuleCatalogue:
    return ModuleCatalogue(Path("/etc/profile.d/lmod.sh"), ("/mods",), 30.0, runner=tool,
                           clock=clock or Clock())


def test_parse_avail() -> None:
    names = parse_avail(AVAIL)
    assert {"hello", "hello/1.0", "hello/2.0", "Core/lmod", "tools/gcc/12"} <= names
    assert not any(n.endswith(":") or "(" in n or "<" in n for n in names)


def test_argv_keeps_paths_out_of_the_script() -> None:
    argv = avail_argv(Path("/etc/profile.d/lmod.sh"), ["/a b", "$(touch x)"])
    assert argv[:3] == ["bash", "-c", AVAIL_SCRIPT]
    assert argv[4:] == ["/etc/profile.d/lmod.sh", "/a b", "$(touch x)"]
    assert "$(touch" not in AVAIL_SCRIPT


async def test_known_modules_pass_and_unknown_are_named() -> None:
    tool = FakeTool()
    mods = catalogue(tool)
    await mods.check(["hello", "hello/1.0"])
    await mods.check([])
    with pytest.raises(InvalidParameter) as e:
        await mods.check(["hello/1.0", "nosuch/3", "other"])
    assert "nosuch/3" in e.value.message and "other" in e.value.message
    assert "hello/1.0" not in e.value.message


async def test_a_burst_asks_the_tool_once() -> None:
    tool = FakeTool()
    mods = catalogue(tool)
    await asyncio.gather(*(mods.check(["hello/1.0"]) for _ in range(20)))
    assert tool.calls == 1


async def test_cache_expires_and_unknown_names_recheck_sparingly() -> None:
    tool, clock = FakeTool(), Clock()
    mods = catalogue(tool, clock)
    await mods.check(["hello"])
    clock.now += 1
    with pytest.raises(InvalidParameter):
        await mods.check(["new/1"])
    assert tool.calls == 1  # the list is a second old: not asked again
    tool.output += "new/1\n"
    clock.now += 5
    await mods.check(["new/1"])  # a module installed since is found
    assert tool.calls == 2
    clock.now += 31
    await mods.check(["hello"])
    assert tool.calls == 3


async def test_a_failing_tool_is_503_and_not_cached() -> None:
    tool = FakeTool("lmod.sh: No such file", status=97)
    mods = catalogue(tool)
    with pytest.raises(ClusterUnavailable):
        await mods.check(["hello"])
    tool.status, tool.output = 0, AVAIL
    await mods.check(["hello"])
    assert tool.calls == 2


async def test_real_lmod_when_installed(tmp_path: Path) -> None:
    init = Path("/etc/profile.d/lmod.sh")
    if not init.exists():
        pytest.skip("Lmod is not installed")
    (tmp_path / "mods" / "unit").mkdir(parents=True)
    (tmp_path / "mods" / "unit" / "0.1.lua").write_text("")
    mods = ModuleCatalogue(init, (str(tmp_path / "mods"),), 30.0)
    await mods.check(["unit/0.1", "unit"])
    with pytest.raises(InvalidParameter):
        await mods.check(["unit/0.2"])
