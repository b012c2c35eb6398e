"""POST of a cluster run asks the cluster first: with Slurm down it is refused
before anything of the run is written (no index row, no folder)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from service.core.errors import ClusterUnavailable
from service.core.store import Store
from service.web.keys import CONFIG_KEY, PROBE_KEY

from .helpers import assert_error_shape, token_for


async def test_slurm_down_refuses_before_anything_is_written(
        client: TestClient[Any, Any], catalogue_data: Store,
        monkeypatch: pytest.MonkeyPatch) -> None:
    runs_dir = client.app[CONFIG_KEY].runs_dir
    seen: list[tuple[bool, list[str]]] = []

    async def down() -> None:
        seen.append((catalogue_data.has_runs(),
                     sorted(p.name for p in runs_dir.iterdir() if p.name != ".staging")))
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
    assert sorted(p.name for p in runs_dir.iterdir() if p.name != ".staging") == []
