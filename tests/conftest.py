"""Fixtures for the live cluster and the service running under its own account.

Integration tests talk to a real Slurm, a real Apptainer and the real service,
started as a subprocess under the non-root service account, as in production."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live import DRMAA_LIBRARY, ROOT, LiveService, make_service, run, wait_final

# Test modules import these from tests.live; re-exported for convenience.
__all__ = ["LiveService", "wait_final"]


@pytest.fixture(scope="session")
def cluster() -> None:
    """The live single-node cluster; brought up if it is down, else a clear failure."""
    def up() -> bool:
        ping = run(["scontrol", "ping"]) if shutil.which("scontrol") else None
        return ping is not None and "UP" in ping.stdout
    if not up():
        result = run(["bash", str(ROOT / "scripts" / "cluster-up.sh")])
        if result.returncode != 0 or not up():
            pytest.fail("the live cluster cannot be brought up (scripts/cluster-up.sh):\n"
                        + result.stderr[-3000:], pytrace=False)


@pytest.fixture(scope="session")
def images(cluster: None) -> dict[str, Path]:
    from tests.live import build_images
    try:
        return build_images()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="session")
def service(images: dict[str, Path]) -> Iterator[LiveService]:
    live = make_service(images)
    yield live
    live.stop()


@pytest.fixture(scope="session")
def drmaa_service(images: dict[str, Path]) -> Iterator[LiveService]:
    """A service with cluster.backend = "drmaa": jobs submitted and followed through
    libdrmaa. The library reaches it through its config (the service account's
    environment has no DRMAA_LIBRARY_PATH)."""
    if not DRMAA_LIBRARY.exists():
        if any((ROOT.parent / "shared" / "vendor").glob("slurm-drmaa-*.tar.gz")):
            pytest.fail(f"{DRMAA_LIBRARY} is missing: scripts/drmaa-up.sh builds it",
                        pytrace=False)
        pytest.skip("no libdrmaa, and no slurm-drmaa source to build it from")
    live = make_service(images, cluster={"backend": "drmaa",
                                         "drmaa_library": str(DRMAA_LIBRARY)})
    yield live
    live.stop()


# The user level's bounds on local runs that the cold service has (and that
# test_run_confinement checks with the warm Snakemake too).
BOUNDED_USER_LEVEL = {"local_max_mem_mb": 600, "local_max_processes": 3000,
                      "local_max_cpu_s": 12}


@pytest.fixture(scope="session")
def cold_service(images: dict[str, Path]) -> Iterator[LiveService]:
    """A service without the warm Snakemake: each run's Snakemake is started anew.
    Its user level's local runs are bounded (BOUNDED_USER_LEVEL), well above what
    sw_example's runs need, so that the tests of both share one start."""
    live = make_service(images, local={"warm_snakemake": False, "time_limit_s": 120.0},
                        **{"policy.user": BOUNDED_USER_LEVEL})
    yield live
    live.stop()


@pytest.fixture(params=["cli", "drmaa"])
def backend_service(request: pytest.FixtureRequest) -> LiveService:
    """The service with each cluster.backend in turn (cluster-run tests that must
    hold for both)."""
    name = "service" if request.param == "cli" else "drmaa_service"
    live: LiveService = request.getfixturevalue(name)
    return live


@pytest.fixture
def service_factory(images: dict[str, Path]) -> Iterator[Callable[..., LiveService]]:
    started: list[LiveService] = []

    def factory(**sections: dict[str, Any]) -> LiveService:
        live = make_service(images, **sections)
        started.append(live)
        return live
    yield factory
    for live in started:
        live.stop()


