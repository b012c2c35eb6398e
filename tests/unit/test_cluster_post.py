"""POST of a cluster run asks the cluster first: with Slurm down it is refused
before anything of the run is written (no index row, no folder). With a fake
cluster backend, a run goes from POST to its results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from ws_slurm import records

from service.accounts import users
from service.accounts.passwords import hash_password
from service.catalogue import access
from service.catalogue import softwares as catalogue
from service.core import atomic
from service.core.config import Config
from service.core.errors import ClusterUnavailable
from service.core.store import Store
from service.runs.folder import RunFolder, run_path
from service.runs.record import load_record
from service.web.app import create_app
from service.web.keys import CONFIG_KEY, PROBE_KEY, STORE_KEY

from .conftest import ClientFactory
from .fakes import FakeBackend, FakeProbe
from .helpers import PASSWORD, assert_error_shape, token_for


async def test_slurm_down_refuses_before_anything_is_written(
        client: TestClient[Any, Any], catalogue_data: Store,
        monkeypatch: pytest.MonkeyPatch) -> None:
    runs_dir = client.app[CONFIG_KEY].runs_dir
    seen: list[tuple[bool, list[str]]] = []

    async def down() -> None:
        seen.append((catalogue_data.has_runs(),
                     sorted(p.name for p in runs_dir.iterdir() if not p.name.startswith("."))))
        raise ClusterUnavailable("the cluster is not available: its controller does not "
                                 "answer")

    monkeypatch.setattr(client.app[PROBE_KEY], "check", down)
    token = await token_for(client, "bob")
    resp = await client.post("/api/software/muse/run/sw_example",
                             data={"cmd": "python /add.py 4 5"},
                             headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 503, await resp.text()
    assert_error_shape(await resp.json(), "cluster_unavailable")
    assert seen == [(False, [])]  # asked before the run was indexed or written
    assert not catalogue_data.has_runs()
    assert sorted(p.name for p in runs_dir.iterdir() if not p.name.startswith(".")) == []


class DoneAtOnce:
    """A submitter whose one job has run already: what ws's executor and the job
    script leave in status/, and the command's stdout."""

    def __init__(self, stdout: str = "9.0\n") -> None:
        self.stdout = stdout

    def __call__(self, folder: RunFolder) -> tuple[int, ...]:
        records.write_jobs(str(folder.status), [records.JobEntry(
            1, "run_command", 4242, "status/run_command.1.exit")])
        (folder.status / "run_command.1.exit").write_text("0\n")
        (folder.status / "snakemake.exit").write_text("0\n")
        (folder.work / "stdout.txt").write_text(self.stdout, encoding="utf-8")
        return (4242,)


async def test_a_cluster_run_goes_through_the_ledger_to_its_end(
        aiohttp_client: ClientFactory, config: Config, image: Path) -> None:
    # Slurm has forgotten the job (it answers, and knows nothing of it): the run
    # folder's exit records decide.
    app = create_app(config, backend=FakeBackend(submit=DoneAtOnce()), probe=FakeProbe())
    client = await aiohttp_client(app)
    seed(app[STORE_KEY], image)
    token = await token_for(client, "bob")
    resp = await client.post("/api/software/muse/run/sw_example",
                             data={"cmd": "python /add.py 4 5"},
                             headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200, await resp.text()
    state_url = (await resp.json())["url"].removeprefix(config.server.public_url)
    report: dict[str, Any] = {}
    for _ in range(20):
        resp = await client.get(state_url, params={"wait": "5"})
        report = (await resp.json())["info"]["report"]
        if report["cr"] != "WAIT":
            break
    assert (report["cr"], report["process"]["job_id"], report["process"]["latest_cr"]) == (
        "OK", 4242, "ENDED_OK")
    key = state_url.rstrip("/").rsplit("/", 1)[1]
    assert app[STORE_KEY].get_run(key).cr == "OK"  # type: ignore[union-attr]
    assert atomic.read_json(run_path(config.runs_dir, key) / "state.json")["jobs"] == [4242]
    resp = await client.get(state_url.replace("/state/", "/run/"))
    assert resp.status == 200 and "9.0" in await resp.text()


def seed(store: Store, image: Path) -> None:
    users.add_user(store, "bob", hash_password(PASSWORD))
    catalogue.add_container(store, "c1", "singularity", image)
    catalogue.add_software(store, "sw_example", "c1")
    access.grant(store, "bob", 2, software="sw_example")


# Over 1 MiB: streamed from disk as JSON, a chunk at a time (escapes, a character
# of several bytes across chunks, only the final newline left out).
LONG = ("line \"é\" \\ \t ✓\n" * 70_000) + "\n"  # over 1 MiB


@pytest.mark.parametrize("fmt,status", [("json", 200), ("yaml", 413)])
async def test_a_long_stdout_is_streamed_as_json_and_refused_held(
        aiohttp_client: ClientFactory, config: Config, image: Path, fmt: str,
        status: int) -> None:
    app = create_app(config, backend=FakeBackend(submit=DoneAtOnce(LONG)), probe=FakeProbe())
    client = await aiohttp_client(app)
    seed(app[STORE_KEY], image)
    token = await token_for(client, "bob")
    resp = await client.post("/api/software/muse/run/sw_example",
                             data={"cmd": "true", "format": fmt},
                             headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200, await resp.text()
    key = next(load_record(RunFolder(p)).key for p in config.runs_dir.iterdir()
               if not p.name.startswith("."))
    state_url = f"/api/software/muse/state/sw_example/{key}/"
    for _ in range(20):
        resp = await client.get(state_url, params={"wait": "5"})
        if (await resp.json())["info"]["report"]["cr"] != "WAIT":
            break
    resp = await client.get(f"/api/software/muse/run/sw_example/{key}/",
                            params={"format": fmt})
    assert resp.status == status, (await resp.text())[:300]
    if fmt == "json":
        body = json.loads(await resp.read())
        assert body["info"]["stdout"] == LONG.removesuffix("\n")
        assert body["info"]["report"]["cr"] == "OK"
    else:
        assert "format=json" in await resp.text()
