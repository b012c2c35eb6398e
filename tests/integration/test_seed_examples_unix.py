"""The user's document, examples A-F, as written, in identity mode "unix": the
same curl commands and the same answers, with every job the mapped Unix user's
(test_seed_examples.py's tests, run here against a unix-mode service with each
cluster.backend)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.runs.folder import run_path
from tests.integration.test_seed_examples import (
    check_ended_ok,
    check_post_answer,
    curl,
    post_json,
    test_example_a_stdout,
    test_example_b_run_zip,
    test_example_c_stdout_txt,
    test_example_d_todownload,
    test_example_e_input_file,
    test_example_f_script_and_files_order,
)
from tests.live import DRMAA_LIBRARY, LiveService, build_images, make_service, run

pytestmark = pytest.mark.cluster
UNIX_RUNS = Path("/srv/ws-runs")  # identity.runs_dir's default
ALICE = "wsalice"  # the Unix user of the examples' ws user (alice)

__all__ = ["test_example_a_stdout", "test_example_b_run_zip", "test_example_c_stdout_txt",
           "test_example_d_todownload", "test_example_e_input_file",
           "test_example_f_script_and_files_order"]


def _unix_service(**sections: dict[str, object]) -> LiveService:
    svc = make_service(build_images(), identity={"mode": "unix"}, **sections)
    result = svc.admin("user", "unix", "alice", ALICE)
    assert result.returncode == 0, result.stderr
    svc.runs_at = UNIX_RUNS / ALICE
    return svc


@pytest.fixture(scope="module")
def service() -> Iterator[LiveService]:
    svc = _unix_service()
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def drmaa_service() -> Iterator[LiveService]:
    if not DRMAA_LIBRARY.exists():
        pytest.skip("no libdrmaa (scripts/drmaa-up.sh builds it)")
    svc = _unix_service(cluster={"backend": "drmaa", "drmaa_library": str(DRMAA_LIBRARY)})
    yield svc
    svc.stop()


@pytest.fixture(params=["cli", "drmaa"])
def backend_service(request: pytest.FixtureRequest) -> LiveService:
    live: LiveService = request.getfixturevalue(
        "service" if request.param == "cli" else "drmaa_service")
    return live


def test_the_examples_jobs_are_the_mapped_user_s(backend_service: LiveService) -> None:
    service = backend_service
    answer = post_json(service, {"cmd": "id -un", "returned_type": "stdout",
                                 "todownload": "no"})
    key = check_post_answer(service, answer)
    report = check_ended_ok(service, answer["url"], {"cmd": "id -un",
                                                     "returned_type": "stdout"})
    results = json.loads(curl(answer["url"].replace("/state/", "/run/")))
    assert results["info"]["stdout"] == ALICE
    sacct = run(["sacct", "-X", "-n", "-P", "-j", str(report["process"]["job_id"]),
                 "-o", "User"])
    assert sacct.stdout.strip() == ALICE, sacct
    # Its job script left its end mark where the service looks (and it was seen).
    folder = run_path(service.runs_dir, key)
    scripts = list((folder / "status").glob("*.sh"))
    assert scripts and f"{UNIX_RUNS}/.ended/" in scripts[0].read_text()
    assert not list((UNIX_RUNS / ".ended").glob(folder.name + ".*"))
