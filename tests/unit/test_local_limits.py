"""The bounds of a local run's processes, from the level's policy."""

from __future__ import annotations

import resource

from service.core.config import LevelPolicy, PolicyConfig
from service.local.limits import LocalLimits, limits_for, prlimit_argv, rlimits


def test_each_level_gets_its_bounds() -> None:
    policy = PolicyConfig()
    assert limits_for(policy.visitor) == LocalLimits(mem_mb=1024, processes=4096, cpu_s=60)
    assert limits_for(policy.user) == LocalLimits(mem_mb=2048, processes=4096, cpu_s=300)
    assert limits_for(policy.admin) == LocalLimits()  # unbounded
    assert rlimits(limits_for(policy.admin)) == []


def test_bounds_never_starve_snakemake_itself() -> None:
    small = limits_for(LevelPolicy(local_max_mem_mb=10, local_max_cpu_s=1))
    assert small.mem_mb == 512 and small.cpu_s == 10


def test_rlimits_and_the_prlimit_command_agree() -> None:
    limits = LocalLimits(mem_mb=1024, processes=100, cpu_s=60)
    assert rlimits(limits) == [(resource.RLIMIT_DATA, 1 << 30, 1 << 30),
                               (resource.RLIMIT_NPROC, 100, 100),
                               (resource.RLIMIT_CPU, 60, 65)]
    assert prlimit_argv(limits) == [f"--data={1 << 30}:{1 << 30}", "--nproc=100:100",
                                    "--cpu=60:65"]
