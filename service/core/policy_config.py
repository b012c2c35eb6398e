"""The access levels' policy: what a user with each level to a software may ask
for ([policy.visitor], [policy.user], ...). Part of the configuration
(service/core/config.py reads it with the rest); kept apart for its size."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LevelPolicy:
    """What a user with this access level to a software may ask for.
    A bound of 0 means unbounded."""

    may_run: bool = True
    cmd_option: bool = True
    sbatch_list: bool = True
    module_list: bool = True
    max_time_min: int = 60
    max_mem_mb: int = 4096
    max_cpus: int = 2
    # Slurm partitions and QOS this level may name in sbatch_list ("*": any).
    # Empty: none may be named; the job gets the cluster's defaults.
    partitions: tuple[str, ...] = ()
    qos: tuple[str, ...] = ()
    # false: the run's container gets a network namespace with only loopback
    # (apptainer --net --network none; the site's apptainer.conf must allow it).
    network: bool = True
    # Local runs (service/local/limits.py): each process's memory (RLIMIT_DATA,
    # at least 512), the account's processes (RLIMIT_NPROC: counts all of the
    # service account's, so it stops fork bombs, not more) and each process's
    # CPU seconds (RLIMIT_CPU). 0: unbounded.
    local_max_mem_mb: int = 2048
    local_max_processes: int = 4096
    local_max_cpu_s: int = 300


@dataclass(frozen=True)
class PolicyConfig:
    visitor: LevelPolicy = LevelPolicy(cmd_option=False, sbatch_list=False, module_list=False,
                                       max_time_min=10, max_mem_mb=1024, max_cpus=1,
                                       network=False, local_max_mem_mb=1024,
                                       local_max_cpu_s=60)
    user: LevelPolicy = LevelPolicy()
    superuser: LevelPolicy = LevelPolicy(max_time_min=24 * 60, max_mem_mb=16384, max_cpus=8,
                                         local_max_mem_mb=8192)
    admin: LevelPolicy = LevelPolicy(max_time_min=0, max_mem_mb=0, max_cpus=0,
                                     partitions=("*",), qos=("*",), local_max_mem_mb=0,
                                     local_max_processes=0, local_max_cpu_s=0)

    def for_level(self, level: int) -> LevelPolicy:
        policy: LevelPolicy = (self.visitor, self.user, self.superuser, self.admin)[level - 1]
        return policy
