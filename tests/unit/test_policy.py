"""Who may run what: access levels (direct and through the container) and the
run policy of each level."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from service.catalogue import access
from service.catalogue.access import access_level
from service.catalogue.softwares import get_software
from service.core.config import LevelPolicy, PolicyConfig
from service.core.errors import AccessDenied, InvalidParameter
from service.core.params import Params
from service.core.store import Store
from service.runs.parameters import parse_run_request
from service.runs.policy import check_run_policy
from service.runs.request import RunRequest

POLICY = PolicyConfig()
VISITOR, USER, SUPERUSER, ADMIN = 1, 2, 3, 4


def run(**values: Any) -> RunRequest:
    return parse_run_request(Params(values=values), cluster=True)


def sbatch(*options: str) -> RunRequest:
    return run(cmd="python /add.py 4 5", sbatch_list=list(options))


def denied(level: int | None, request: RunRequest, reason: str,
           policy: PolicyConfig = POLICY, cluster: bool = True) -> None:
    with pytest.raises(AccessDenied, match=reason):
        check_run_policy(policy, level, request, cluster)


def allowed(level: int | None, request: RunRequest, policy: PolicyConfig = POLICY) -> None:
    check_run_policy(policy, level, request, True)


def test_no_access_at_all() -> None:
    denied(None, run(cmd="ls"), "no access")


def test_may_run_false() -> None:
    policy = replace(POLICY, visitor=LevelPolicy(may_run=False))
    denied(VISITOR, run(cmd="ls"), "visitor may not run", policy)
    allowed(USER, run(cmd="ls"), policy)


def test_visitor() -> None:
    allowed(VISITOR, run(cmd="python /add.py 4 5"))
    denied(VISITOR, run(cmd="ls", cmd_option="--cleanenv"), "visitor may not give cmd_option")
    denied(VISITOR, run(cmd="ls", cmd_option="--cleanenv"), "cmd_option", cluster=False)
    denied(VISITOR, sbatch("--time=5"), "visitor may not give sbatch_list")
    denied(VISITOR, run(cmd="ls", module_list=["gcc/12"]), "may not give module_list")


def test_user_bounds() -> None:
    allowed(USER, run(cmd="ls", cmd_option="--bind data:/data", module_list=["gcc/12"]))
    allowed(USER, sbatch("--time=60", "--mem=4G", "--cpus-per-task=2"))
    denied(USER, sbatch("--time=61"), "time 61 is over the 60 minutes")
    denied(USER, sbatch("--time=01:00:01"), "time .* is over")
    denied(USER, sbatch("--mem=4097M"), "mem 4097M is over the 4096 MB")
    denied(USER, sbatch("--mem=5G"), "mem")
    denied(USER, sbatch("--cpus-per-task=3"), "cpus-per-task 3 is over the 2")


def test_superuser_bounds() -> None:
    allowed(SUPERUSER, sbatch("--time=1-00:00:00", "--mem=16G", "--cpus-per-task=8"))
    denied(SUPERUSER, sbatch("--time=1-00:01:00"), "superuser")
    denied(SUPERUSER, sbatch("--mem=17G"), "superuser")
    denied(SUPERUSER, sbatch("--cpus-per-task=9"), "superuser")


def test_admin_is_unbounded() -> None:
    allowed(ADMIN, sbatch("--time=30-00:00:00", "--mem=1T", "--cpus-per-task=512"))


def test_local_runs_skip_cluster_rules() -> None:
    local = parse_run_request(Params(values={"cmd": "ls"}), cluster=False)
    check_run_policy(POLICY, VISITOR, local, cluster=False)


def test_access_level_direct_container_and_highest(catalogue_data: Store) -> None:
    store = catalogue_data
    sw_example, lonely = get_software(store, "sw_example"), get_software(store, "lonely")
    assert access_level(store, "bob", sw_example) == 2  # direct grant
    assert access_level(store, "carol", sw_example) == 3  # through container c1
    assert access_level(store, "bob", lonely) == 1  # through container c2
    assert access_level(store, "carol", lonely) is None
    assert access_level(store, "alice", sw_example) is None  # is_admin is not a grant
    access.grant(store, "bob", 4, container="c1")
    assert access_level(store, "bob", sw_example) == 4
    access.grant(store, "bob", 1, container="c1")
    assert access_level(store, "bob", sw_example) == 2


@pytest.mark.parametrize("level", [0, 5, -1, "x", "", None, True, 2.0, "²"])
def test_bad_levels(level: object) -> None:
    with pytest.raises(InvalidParameter):
        access.check_level(level)


def test_good_levels() -> None:
    assert [access.check_level(v) for v in (1, "2", " 3 ", 4)] == [1, 2, 3, 4]


def test_partition_and_qos_are_allowed_per_level() -> None:
    denied(USER, sbatch("--partition=debug"), "partition 'debug' is not allowed to "
           "access level user")
    denied(SUPERUSER, sbatch("--qos=normal"), "qos 'normal' is not allowed")
    allowed(ADMIN, sbatch("--partition=anything", "--qos=high"))
    policy = replace(POLICY, user=LevelPolicy(partitions=("debug",), qos=("normal",)))
    allowed(USER, sbatch("--partition=debug", "--qos=normal"), policy)
    denied(USER, sbatch("--partition=big"), "partition 'big'", policy)
    denied(USER, sbatch("--qos=high"), "qos 'high'", policy)
    with pytest.raises(AccessDenied) as e:
        check_run_policy(policy, USER, sbatch("--partition=big"), True)
    assert "allowed: debug" in e.value.more
