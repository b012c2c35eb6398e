"""Fixtures for the unit tests: the real app on a temporary state folder, and
helpers that seed users, containers, softwares and grants straight into its store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from service.accounts import users
from service.accounts.passwords import hash_password
from service.catalogue import access
from service.catalogue import softwares as catalogue
from service.core.config import Config, LocalRunConfig
from service.core.store import Store
from service.web.app import create_app
from service.web.keys import STORE_KEY

from .fakes import FakeBackend, FakeProbe
from .helpers import PASSWORD

ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def config(tmp_path: Path) -> Config:
    # No warm Snakemake: the unit tests run no workflow (the live tests do).
    return Config(state_dir=tmp_path / "state", runs_dir=tmp_path / "runs",
                  local=LocalRunConfig(warm_snakemake=False))


@pytest.fixture
async def client(aiohttp_client: ClientFactory, config: Config) -> TestClient[Any, Any]:
    # The cluster is faked at the process boundary: no Slurm command runs here.
    return await aiohttp_client(create_app(config, backend=FakeBackend(), probe=FakeProbe()))


@pytest.fixture
def store(client: TestClient[Any, Any]) -> Store:
    return client.app[STORE_KEY]


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "images" / "sw_example.sif"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"SIF")
    return path


@pytest.fixture
def catalogue_data(store: Store, image: Path) -> Store:
    """Users alice (admin), bob, carol; containers c1, c2; softwares sw_example and
    other in c1, lonely in c2; grants: bob 2 on sw_example, carol 3 on container c1,
    bob 1 on container c2."""
    password_hash = hash_password(PASSWORD)
    users.add_user(store, "alice", password_hash, is_admin=True)
    users.add_user(store, "bob", password_hash)
    users.add_user(store, "carol", password_hash)
    catalogue.add_container(store, "c1", "singularity", image, "first")
    catalogue.add_container(store, "c2", "docker", image, "second")
    catalogue.add_software(store, "sw_example", "c1", "adds numbers", "add",
                           {"doc": "https://example.org/doc"}, ["math"])
    catalogue.add_software(store, "other", "c1")
    catalogue.add_software(store, "lonely", "c2")
    access.grant(store, "bob", 2, software="sw_example")
    access.grant(store, "carol", 3, container="c1")
    access.grant(store, "bob", 1, container="c2")
    return store
