"""Bounds of a local run's processes, from its access level's policy.

No cgroups here (measured as the ws account: PID 1 is not systemd, cgroup v1
without delegation, so neither `systemd-run --user` nor a cgroup of our own),
so the bounds are rlimits, set on Snakemake's process before it runs the
workflow and inherited by everything it starts, the container and the command
included (`apptainer exec` keeps them):

- memory: RLIMIT_DATA (heap and private mappings) of each process; unlike
  RLIMIT_AS it leaves Apptainer's Go runtime its large address reservations
  (measured: apptainer exec runs under RLIMIT_DATA 256 MB, RLIMIT_AS needs 1 GB);
- processes: RLIMIT_NPROC, which the kernel counts for the whole account (all
  of the service's runs and jobs), so it stops a fork bomb, not a fair share;
- CPU time: RLIMIT_CPU of each process (SIGXCPU, then SIGKILL 5 s later).

Snakemake itself runs under the same bounds, so memory is never set below
MIN_MEM_MB (its own process needs about 250 MB)."""

from __future__ import annotations

import resource
from dataclasses import dataclass

from service.core.config import LevelPolicy

MIN_MEM_MB = 512
MIN_CPU_S = 10
CPU_GRACE_S = 5


@dataclass(frozen=True)
class LocalLimits:
    mem_mb: int = 0  # 0: unbounded
    processes: int = 0
    cpu_s: int = 0


UNBOUNDED = LocalLimits()


def limits_for(policy: LevelPolicy) -> LocalLimits:
    return LocalLimits(
        mem_mb=max(policy.local_max_mem_mb, MIN_MEM_MB) if policy.local_max_mem_mb else 0,
        processes=max(policy.local_max_processes, 0),
        cpu_s=max(policy.local_max_cpu_s, MIN_CPU_S) if policy.local_max_cpu_s else 0)


def rlimits(limits: LocalLimits) -> list[tuple[int, int, int]]:
    """(resource, soft, hard) to set; unbounded ones are left as they are."""
    found = []
    if limits.mem_mb:
        size = limits.mem_mb * 1024 * 1024
        found.append((resource.RLIMIT_DATA, size, size))
    if limits.processes:
        found.append((resource.RLIMIT_NPROC, limits.processes, limits.processes))
    if limits.cpu_s:
        found.append((resource.RLIMIT_CPU, limits.cpu_s, limits.cpu_s + CPU_GRACE_S))
    return found


PRLIMIT_NAMES = {resource.RLIMIT_DATA: "--data", resource.RLIMIT_NPROC: "--nproc",
                 resource.RLIMIT_CPU: "--cpu"}


def prlimit_argv(limits: LocalLimits) -> list[str]:
    """`prlimit` (util-linux) options setting the same bounds on a command."""
    return [f"{PRLIMIT_NAMES[r]}={soft}:{hard}" for r, soft, hard in rlimits(limits)]
