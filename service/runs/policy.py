"""The run policy: what each access level may ask for (pure: no I/O)."""

from __future__ import annotations

from service.catalogue.access import LEVELS
from service.core.config import PolicyConfig
from service.core.errors import AccessDenied
from service.runs.request import RunRequest
from service.runs.sbatch_options import mem_mb, time_minutes


def _over(value: int, bound: int) -> bool:
    return bound > 0 and value > bound


def check_run_policy(policy: PolicyConfig, level: int | None, run: RunRequest,
                     cluster: bool) -> None:
    """Refuse (AccessDenied, saying why) what the level's policy does not allow."""
    hint = ["an administrator can grant a higher access level"]
    if level is None:
        raise AccessDenied("you have no access to this software", hint)
    rules = policy.for_level(level)
    name = LEVELS[level]
    if not rules.may_run:
        raise AccessDenied(f"access level {name} may not run this software", hint)
    if run.cmd_option and not rules.cmd_option:
        raise AccessDenied(f"access level {name} may not give cmd_option", hint)
    if not cluster:
        return
    if run.sbatch and not rules.sbatch_list:
        raise AccessDenied(f"access level {name} may not give sbatch_list", hint)
    if run.module_list and not rules.module_list:
        raise AccessDenied(f"access level {name} may not give module_list", hint)
    time_value = run.sbatch_value("time")
    if time_value is not None and _over(time_minutes(time_value), rules.max_time_min):
        raise AccessDenied(f"time {time_value} is over the {rules.max_time_min} minutes "
                           f"allowed to access level {name}", hint)
    mem_value = run.sbatch_value("mem")
    if mem_value is not None and _over(mem_mb(mem_value), rules.max_mem_mb):
        raise AccessDenied(f"mem {mem_value} is over the {rules.max_mem_mb} MB allowed to "
                           f"access level {name}", hint)
    cpus = run.sbatch_value("cpus-per-task")
    if cpus is not None and _over(int(cpus), rules.max_cpus):
        raise AccessDenied(f"cpus-per-task {cpus} is over the {rules.max_cpus} allowed to "
                           f"access level {name}", hint)
    for option, allowed in (("partition", rules.partitions), ("qos", rules.qos)):
        value = run.sbatch_value(option)
        if value is not None and "*" not in allowed and value not in allowed:
            raise AccessDenied(
                f"{option} {value!r} is not allowed to access level {name}",
                [f"allowed: {', '.join(allowed)}" if allowed else
                 f"access level {name} may not choose a {option}: the cluster's "
                 "default is used", *hint])
