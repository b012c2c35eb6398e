"""The TES endpoints in process, the cluster faked at its boundary: authentication,
ownership (404 for others), what POST writes, list filters and pages, cancel,
and no 5xx once a task exists (a failed submission is a SYSTEM_ERROR)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from service.core.config import Config
from service.core.store import Store
from service.core.tes_config import TesConfig
from service.runs.folder import RunFolder
from service.tes.index import find_task
from service.web.app import create_app
from service.web.keys import BACKEND_KEY, LEDGER_KEY, STORE_KEY

from .conftest import ClientFactory
from .fakes import FakeBackend, FakeProbe
from .helpers import assert_error_shape, token_for

BASE = "/ga4gh/tes/v1"
TASK = {"name": "first", "tags": {"k": "v"},
        "inputs": [{"path": "/data/x", "content": "hello"}],
        "executors": [{"image": "sw_example", "command": ["cat", "/data/x"]}]}


@pytest.fixture
def config(config: Config, tmp_path: Path) -> Config:
    (tmp_path / "roots" / "bob").mkdir(parents=True)
    return replace(config, tes=TesConfig(file_roots=(f"{tmp_path}/roots/{{user}}",),
                                         image_aliases=("debian=sw_example",)))


@pytest.fixture
async def client(aiohttp_client: ClientFactory, config: Config,
                 request: pytest.FixtureRequest) -> TestClient[Any, Any]:
    # By default Slurm takes every job as job 42 (and says nothing more of it).
    backend = getattr(request, "param", None) or FakeBackend(submit=lambda folder: (42,))
    return await aiohttp_client(create_app(config, backend=backend, probe=FakeProbe()))


@pytest.fixture
def tes_client(client: TestClient[Any, Any], catalogue_data: Store) -> TestClient[Any, Any]:
    return client


async def auth(client: TestClient[Any, Any], user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {await token_for(client, user)}"}


async def create(client: TestClient[Any, Any], user: str = "bob",
                 task: dict[str, Any] | None = None) -> str:
    resp = await client.post(f"{BASE}/tasks", json=task or TASK,
                             headers=await auth(client, user))
    assert resp.status == 200, await resp.text()
    task_id: str = (await resp.json())["id"]
    return task_id


async def test_service_info_is_public_and_shows_the_callers_roots(
        tes_client: TestClient[Any, Any], config: Config) -> None:
    resp = await tes_client.get(f"{BASE}/service-info")
    info = await resp.json()
    assert resp.status == 200 and info["type"] == {"group": "org.ga4gh", "artifact": "tes",
                                                    "version": "1.1.0"}
    assert info["storage"] == []
    mine = await (await tes_client.get(f"{BASE}/service-info",
                                       headers=await auth(tes_client, "bob"))).json()
    assert mine["storage"] == [f"file://{config.state_dir.parent}/roots/bob"]


async def test_a_task_is_a_cluster_run(tes_client: TestClient[Any, Any]) -> None:
    task_id = await create(tes_client)
    store: Store = tes_client.app[STORE_KEY]
    entry = find_task(store, task_id)
    assert entry is not None and entry.owner == "bob" and entry.key not in task_id
    folder = tes_client.app[LEDGER_KEY].folder(entry.key)
    assert isinstance(folder, RunFolder)
    assert (folder.path / "work" / "root" / "data" / "x").read_text() == "hello"
    plan = json.loads((folder.path / "tes" / "plan.json").read_text())
    assert plan["executors"][0]["command"] == ["cat", "/data/x"]
    assert "service.tes.runner" in (folder.path / "rules" / "tes_task.smk").read_text()
    assert store.get_run(entry.key) is not None  # the run index has it, kind cluster
    resp = await tes_client.get(f"{BASE}/tasks/{task_id}", params={"view": "BASIC"},
                                headers=await auth(tes_client, "bob"))
    body = await resp.json()
    assert body["state"] == "QUEUED" and body["logs"][0]["metadata"]["slurm_job_ids"] == "42"


@pytest.mark.parametrize("client", [FakeBackend()], indirect=True)
async def test_a_failed_submission_is_a_system_error_not_a_5xx(
        tes_client: TestClient[Any, Any]) -> None:
    task_id = await create(tes_client)
    resp = await tes_client.get(f"{BASE}/tasks/{task_id}", params={"view": "FULL"},
                                headers=await auth(tes_client, "bob"))
    body = await resp.json()
    assert resp.status == 200 and body["state"] == "SYSTEM_ERROR"
    assert any("Slurm did not take" in line for line in body["logs"][0]["system_logs"])


async def test_others_tasks_are_not_found(tes_client: TestClient[Any, Any]) -> None:
    task_id = await create(tes_client)
    carol = await auth(tes_client, "carol")
    for resp in (await tes_client.get(f"{BASE}/tasks/{task_id}", headers=carol),
                 await tes_client.post(f"{BASE}/tasks/{task_id}:cancel", headers=carol),
                 await tes_client.get(f"{BASE}/tasks/nope", headers=carol)):
        assert resp.status == 404
        assert_error_shape(await resp.json(), "not_found")
    listed = await (await tes_client.get(f"{BASE}/tasks", headers=carol)).json()
    assert listed == {"tasks": []}
    assert (await tes_client.get(f"{BASE}/tasks/{task_id}")).status == 401


async def test_list_filters_and_pages(tes_client: TestClient[Any, Any]) -> None:
    first = await create(tes_client)
    second = await create(tes_client, task={**TASK, "name": "second", "tags": {"k": "w"}})
    bob = await auth(tes_client, "bob")

    async def ids(**params: str) -> list[str]:
        resp = await tes_client.get(f"{BASE}/tasks", params=params, headers=bob)
        assert resp.status == 200, await resp.text()
        return [t["id"] for t in (await resp.json())["tasks"]]
    assert await ids() == [second, first]
    assert await ids(name_prefix="fir") == [first]
    assert await ids(tag_key="k", tag_value="w") == [second]
    assert await ids(tag_key="k") == [second, first]
    assert await ids(tag_key="nope") == []
    assert await ids(state="QUEUED") == [second, first]
    assert await ids(state="COMPLETE") == []
    page = await (await tes_client.get(f"{BASE}/tasks", params={"page_size": "1"},
                                       headers=bob)).json()
    assert [t["id"] for t in page["tasks"]] == [second]
    assert await ids(page_size="1", page_token=page["next_page_token"]) == [first]
    for bad in ({"page_size": "0"}, {"page_size": "2048"}, {"page_token": "garbage"},
                {"state": "DONE"}, {"view": "ALL"}):
        assert (await tes_client.get(f"{BASE}/tasks", params=bad, headers=bob)).status == 400


async def test_cancel_cancels_the_slurm_job(tes_client: TestClient[Any, Any]) -> None:
    task_id = await create(tes_client)
    bob = await auth(tes_client, "bob")
    resp = await tes_client.post(f"{BASE}/tasks/{task_id}:cancel", headers=bob)
    assert resp.status == 200 and await resp.json() == {}
    backend = tes_client.app[BACKEND_KEY]
    assert isinstance(backend, FakeBackend) and backend.cancelled == [42]
    state = await (await tes_client.get(f"{BASE}/tasks/{task_id}", headers=bob)).json()
    assert state["state"] == "CANCELING"


async def test_refusals(tes_client: TestClient[Any, Any]) -> None:
    bob = await auth(tes_client, "bob")
    for body, status in ((b"not json", 400), (b"[]", 400),
                         (json.dumps({**TASK, "executors": [{"image": "other",
                                                             "command": ["x"]}]}).encode(),
                          403),
                         (json.dumps({**TASK, "resources": {"cpu_cores": 64}}).encode(), 403),
                         (json.dumps({**TASK, "description": "x" * 3_000_000}).encode(), 413)):
        resp = await tes_client.post(f"{BASE}/tasks", data=body, headers=bob)
        assert resp.status == status, await resp.text()
