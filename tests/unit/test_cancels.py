"""Cancelling many (issue 22): cancels asked at once reach Slurm as one batch (one
scancel for many job ids), and POST run/cancel cancels many of one's own runs,
filtered by software and Slurm state."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from service.accounts import users
from service.accounts.passwords import hash_password
from service.cluster import slurm
from service.cluster.cancels import MAX_BATCH, Cancels
from service.core.config import Config
from service.core.errors import ClusterUnavailable
from service.runs.folder import RunFolder
from service.web.app import create_app
from service.web.keys import CANCELS_KEY, STORE_KEY

from .conftest import ClientFactory
from .fakes import FakeBackend, FakeProbe
from .helpers import PASSWORD, assert_error_shape, token_for
from .test_cluster_post import seed


class Told:
    """The poller's side: which runs it was told are ending."""

    def __init__(self) -> None:
        self.ending: set[str] = set()

    def ending_(self, keys: set[str]) -> None:
        self.ending |= keys


class Slow(FakeBackend):
    """scancel that takes until the test lets it go; its calls recorded."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.calls: list[list[int]] = []
        self.go = asyncio.Event()
        self.go.set()
        self.fail = fail

    async def cancel(self, job_ids: Iterable[int]) -> None:
        self.calls.append(sorted(job_ids))
        await self.go.wait()
        if self.fail:
            raise ClusterUnavailable("the cluster did not take the cancellation")


def cancels(backend: FakeBackend) -> tuple[Cancels, Told]:
    told = Told()
    poller: Any = type("P", (), {"ending": lambda self, keys: told.ending_(keys)})()
    return Cancels(backend, poller, window_s=0), told


async def test_cancels_at_once_are_one_batch() -> None:
    backend = Slow()
    batcher, told = cancels(backend)
    await asyncio.gather(*(batcher.cancel({f"k{i}": [100 + i]}) for i in range(30)))
    assert backend.calls == [list(range(100, 130))]
    assert told.ending == {f"k{i}" for i in range(30)}


async def test_what_comes_during_a_batch_is_the_next_batch() -> None:
    backend = Slow()
    backend.go.clear()
    batcher, _ = cancels(backend)
    first = asyncio.create_task(batcher.cancel({"a": [1]}))
    while not backend.calls:
        await asyncio.sleep(0)
    more = [asyncio.create_task(batcher.cancel({f"k{i}": [10 + i]})) for i in range(10)]
    await asyncio.sleep(0)
    backend.go.set()
    await asyncio.gather(first, *more)
    assert backend.calls == [[1], list(range(10, 20))]


async def test_a_refused_batch_is_every_callers_error() -> None:
    batcher, told = cancels(Slow(fail=True))
    results = await asyncio.gather(*(batcher.cancel({f"k{i}": [i]}) for i in range(3)),
                                   return_exceptions=True)
    assert all(isinstance(r, ClusterUnavailable) for r in results)
    assert told.ending == set()


async def test_a_large_batch_is_cut_in_commands_of_max_batch() -> None:
    backend = Slow()
    batcher, _ = cancels(backend)
    await batcher.cancel({"all": range(MAX_BATCH * 2 + 1)})
    assert [len(c) for c in backend.calls] == [MAX_BATCH, MAX_BATCH, 1]


class Numbered(FakeBackend):
    """Jobs 100, 101... reach Slurm at once; Slurm says what `known` says."""

    def __init__(self) -> None:
        super().__init__(submit=self._next)
        self._ids = itertools.count(100)

    def _next(self, folder: RunFolder) -> tuple[int, ...]:
        return (next(self._ids),)


async def test_cancel_many_of_ones_runs_by_state(aiohttp_client: ClientFactory,
                                                 config: Config, image: Path) -> None:
    backend = Numbered()
    app = create_app(config, backend=backend, probe=FakeProbe())
    client = await aiohttp_client(app)
    seed(app[STORE_KEY], image)
    bob = {"Authorization": f"Bearer {await token_for(client, 'bob')}"}
    states = []
    for _ in range(3):
        resp = await client.post("/api/software/muse/run/sw_example",
                                 data={"cmd": "sleep 600"}, headers=bob)
        assert resp.status == 200, await resp.text()
        states.append((await resp.json())["url"].removeprefix(config.server.public_url))
    backend.known = {100: slurm.JobInfo(100, "RUNNING"), 101: slurm.JobInfo(101, "PENDING"),
                     102: slurm.JobInfo(102, "PENDING")}
    for _ in range(20):  # the poller's next round shows job 100 running
        report = (await (await client.get(states[0], params={"wait": "2"})).json())
        if report["info"]["report"]["process"]["latest_state"] == "RUNNING":
            break
    resp = await client.post("/api/run/cancel", json={"state": "PENDING"}, headers=bob)
    assert resp.status == 200, await resp.text()
    answer = await resp.json()
    assert sorted(r["job_id"] for r in answer["cancelled"]) == [101, 102]
    assert answer["not_in_slurm_yet"] == []
    assert backend.cancelled == [101, 102]
    assert app[CANCELS_KEY].calls == 1
    resp = await client.post("/api/run/cancel", data={"software": "other"}, headers=bob)
    assert (await resp.json())["cancelled"] == []
    resp = await client.post("/api/run/cancel", json={"state": "x; rm"}, headers=bob)
    assert resp.status == 400
    assert_error_shape(await resp.json(), "bad_parameter")
    resp = await client.post("/api/run/cancel")
    assert resp.status == 401


async def test_cancel_many_leaves_others_runs_alone(aiohttp_client: ClientFactory,
                                                   config: Config, image: Path) -> None:
    who = "carol"
    backend = Numbered()
    app = create_app(config, backend=backend, probe=FakeProbe())
    client = await aiohttp_client(app)
    seed(app[STORE_KEY], image)
    users.add_user(app[STORE_KEY], who, hash_password(PASSWORD))
    bob = {"Authorization": f"Bearer {await token_for(client, 'bob')}"}
    resp = await client.post("/api/software/muse/run/sw_example",
                             data={"cmd": "sleep 600"}, headers=bob)
    state = (await resp.json())["url"].removeprefix(config.server.public_url)
    for _ in range(20):
        report = (await (await client.get(state, params={"wait": "1"})).json())
        if report["info"]["report"]["process"]["job_id"] is not None:
            break
    other = {"Authorization": f"Bearer {await token_for(client, who)}"}
    resp = await client.post("/api/run/cancel", headers=other)
    assert (await resp.json())["cancelled"] == [] and backend.cancelled == []
    resp = await client.post("/api/run/cancel", headers=bob)
    assert [r["job_id"] for r in (await resp.json())["cancelled"]] == [100]
    assert backend.cancelled == [100]
