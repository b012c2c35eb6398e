"""What an authorised user may ask of a run, against the live service: the
Slurm partition and QOS of a cluster run (per access level, in the policy),
and how long a command may be."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
import requests

from tests.live import LiveService, cluster_run, local_run, wait_final

pytestmark = pytest.mark.cluster
MUSE = "/api/software/muse/run/sw_example/"


def runs(service: LiveService) -> set[str]:
    return {p.name for p in service.runs_dir.iterdir()} - {".staging"}


def error_of(r: requests.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert set(body) == {"error", "more", "type"} and isinstance(body["more"], list)
    return body


def test_partition_and_qos_are_refused_unless_the_level_allows_them(
        service: LiveService) -> None:
    before = runs(service)
    for option in ("--partition=debug", "--qos=normal"):
        r = requests.post(f"{service.url}{MUSE}", headers=service.auth("sue"), timeout=30,
                          json={"cmd": "true", "sbatch_list": [option]})
        body = error_of(r, 403)
        assert "is not allowed to access level superuser" in body["error"]
        assert any("cluster's default is used" in m for m in body["more"])
    assert runs(service) == before
    # The admin level allows any ("*"): the job runs in the partition asked for.
    r = requests.post(f"{service.url}{MUSE}", headers=service.auth("adam"), timeout=30,
                      json={"cmd": "true", "sbatch_list": ["--partition=debug",
                                                           "--qos=normal"]})
    assert r.status_code == 200, r.text
    assert wait_final(r.json()["url"])["info"]["report"]["cr"] == "OK"


def test_policy_lists_let_a_level_choose(service_factory: Any) -> None:
    live = service_factory(**{"policy.user": {"partitions": ["debug"]}})
    ok = requests.post(f"{live.url}{MUSE}", headers=live.auth("alice"), timeout=30,
                       json={"cmd": "true", "sbatch_list": ["--partition=debug"]})
    assert ok.status_code == 200, ok.text
    r = requests.post(f"{live.url}{MUSE}", headers=live.auth("alice"), timeout=30,
                      json={"cmd": "true", "sbatch_list": ["--partition=other"]})
    assert error_of(r, 403)["more"][0] == "allowed: debug"
    assert wait_final(ok.json()["url"])["info"]["report"]["cr"] == "OK"


def test_a_command_over_64_kib_is_refused_with_the_limit(service: LiveService) -> None:
    before = runs(service)
    for cmd in ("echo " + "x" * (72 * 1024), "echo '" + "'" * 8000 + "'"):
        for url in (f"{service.url}{MUSE}", f"{service.url}/api/software/run/sw_example/"):
            body = error_of(requests.post(url, json={"cmd": cmd}, headers=service.auth(),
                                          timeout=30), 413)
            assert "cmd is too long" in body["error"] and "the limit is" in body["more"][0]
    assert runs(service) == before
    # Just under the limit, the command runs as written.
    r = local_run(service, cmd="printf %s " + "x" * 60_000 + " | wc -c")
    assert r.status_code == 200, r.text
    assert r.json()["info"]["stdout"].strip() == "60000"


def test_a_long_stdout_is_streamed_as_json_and_refused_in_formats_that_hold_it(
        service: LiveService) -> None:
    # Over 1 MiB: JSON streams it from disk a chunk at a time; yaml would hold it
    # all in memory, so it is refused, naming the ways that do not.
    big = "python -c \"print('x' * 3000000)\""
    answer = cluster_run(service, cmd=big, returned_type="stdout")
    assert wait_final(answer["url"])["info"]["report"]["cr"] == "OK"
    r = requests.get(answer["urls"]["run"], timeout=60)
    assert r.status_code == 200 and r.json()["info"]["stdout"] == "x" * 3000000
    r = requests.get(answer["urls"]["run"], params={"format": "yaml"}, timeout=60)
    assert r.status_code == 413 and "format=json" in r.text and "stdout.txt" in r.text


def test_a_user_whose_ended_runs_fill_their_quota_is_refused_with_the_reason(
        service_factory: Any) -> None:
    live = service_factory(limits={"max_stored_mb_per_user": 1})
    r = local_run(live, cmd="head -c 3000000 /dev/zero > big; echo done")
    assert r.status_code == 200, r.text
    # The folder is measured just after the run has ended: the next POSTs pass
    # until then (bounded), and none after.
    deadline = time.monotonic() + 30
    while (r := local_run(live, cmd="true")).status_code == 200 \
            and time.monotonic() < deadline:
        pass
    body = error_of(r, 507)
    assert body["type"] == "storage_quota"
    assert re.search(r"alice's ended runs keep [23] MB on disk, and each user may keep 1 MB",
                     body["error"]), body
    before = runs(live)
    r = requests.post(f"{live.url}{MUSE}", headers=live.auth("alice"), timeout=30,
                      json={"cmd": "true"})
    error_of(r, 507)
    assert runs(live) == before  # nothing written
    # Another user is not held back.
    assert local_run(live, user="sue", cmd="true").status_code == 200


def test_a_cluster_run_that_writes_past_its_bound_is_cancelled_saying_why(
        service_factory: Any) -> None:
    live = service_factory(limits={"max_run_mb": 1, "disk_check_s": 0.5})
    answer = cluster_run(live, cmd="head -c 3000000 /dev/zero > big; sleep 120",
                         returned_type="stdout")
    report = wait_final(answer["url"], timeout=90)["info"]["report"]
    assert report["cr"] == "NOK", report
    assert report["process"]["cause"].startswith("the run's folder grew past 1 MB"), report
    assert report["process"]["latest_state"] == "CANCELLED"


def test_a_local_run_that_writes_past_its_bound_is_stopped_saying_why(
        service_factory: Any) -> None:
    live = service_factory(limits={"max_run_mb": 1, "disk_check_s": 0.5})
    r = local_run(live, cmd="head -c 3000000 /dev/zero > big; sleep 60")
    body = error_of(r, 422)
    assert "the run's folder grew past 1 MB" in json.dumps(body), body
