"""issue 10, the parts in the workflow and its exit records: what a run's command
leaves in work/ decides nothing and can neither stall nor crash the service, and
nothing a user sends is expanded from the service's (or Snakemake's) environment.

Against the live service as its own account, local and cluster runs."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.integration.test_muse_runs import submit
from tests.live import LiveService, local_run, wait_final

pytestmark = pytest.mark.cluster

# What the command leaves where the old exit record was read from.
HOSTILE = {
    "dev-zero-link": "ln -sf /dev/zero .command_exit",
    "fifo": "rm -f .command_exit; mkfifo .command_exit",
    "says-ok": "echo 0 > .command_exit",
}


def answers_quickly(service: LiveService) -> None:
    """Another client is served, and at once, after the hostile run."""
    started = time.monotonic()
    r = requests.get(f"{service.url}/api/software/list/", timeout=10)
    assert r.status_code == 200
    assert time.monotonic() - started < 5  # generous: a frozen service never answers


@pytest.mark.parametrize("what", sorted(HOSTILE))
def test_local_run_leaving_a_hostile_exit_record(service: LiveService, what: str) -> None:
    r = local_run(service, cmd=f"echo 5; {HOSTILE[what]}")
    assert r.status_code == 200, r.text
    assert r.json()["info"]["stdout"] == "5"
    answers_quickly(service)


@pytest.mark.parametrize("what", sorted(HOSTILE))
def test_local_run_failing_whatever_it_leaves_says(service: LiveService, what: str) -> None:
    r = local_run(service, cmd=f"{HOSTILE[what]}; exit 3")
    assert r.status_code == 422, r.text
    assert "status 3" in r.json()["error"] + " ".join(r.json()["more"])
    answers_quickly(service)


@pytest.mark.parametrize("what", ["fifo", "dev-zero-link"])
def test_cluster_run_leaving_a_hostile_exit_record(service: LiveService, what: str) -> None:
    answer = submit(service, cmd=f"echo 5; {HOSTILE[what]}")
    report = wait_final(answer["url"])["info"]["report"]
    assert report["cr"] == "OK", report
    failing = submit(service, cmd=f"{HOSTILE['says-ok']}; exit 4")
    report = wait_final(failing["url"])["info"]["report"]
    assert report["cr"] == "NOK" and "status 4" in report["process"]["cause"], report
    answers_quickly(service)


def stdout(r: requests.Response) -> Any:
    assert r.status_code == 200, r.text
    return r.json()["info"]["stdout"]


# Apptainer itself evaluates `--env` values inside the container (its documented
# `--env PATH=$PATH:/x`), where $HOME is the run's work/ folder and $USER is
# unset; what must never appear is the service's own environment, which
# Snakemake's reading of the profile (os.path.expandvars) used to put there.
SERVICE_HOME = "/var/lib/ws"


@pytest.mark.parametrize("value", ["$HOME", "${HOME}", "$USER", "~"])
def test_env_values_are_never_expanded_by_the_service(service: LiveService,
                                                      value: str) -> None:
    r = local_run(service, cmd='echo "[$X]"', cmd_option=f"--env X={value}")
    out = stdout(r)
    assert SERVICE_HOME not in out and out != "[ws]", out
    assert out in (f"[{value}]", "[]") or out.endswith("/work]"), out


def test_env_values_are_never_expanded_on_the_cluster(service: LiveService) -> None:
    answer = submit(service, cmd='echo "[$X]"', cmd_option="--env X=$HOME")
    assert wait_final(answer["url"])["info"]["report"]["cr"] == "OK"
    out = stdout(requests.get(answer["urls"]["run"], timeout=30))
    assert SERVICE_HOME not in out and out.endswith("/work]"), out
