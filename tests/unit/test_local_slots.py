"""Local-run slots are shared fairly (issue 19): one user cannot hold every slot
and the whole waiting line; beyond their share they get 429 with the reason, and
everyone else still gets in."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from service.core.config import LocalRunConfig
from service.core.errors import TooManyRuns
from service.local.runner import LocalRunner
from service.runs.folder import RunFolder
from service.runs.state import RunState


class Ledger:
    """What the runner asks of the ledger."""

    def __init__(self) -> None:
        self.changes: list[str] = []

    def folder(self, key: str) -> RunFolder:
        return RunFolder(Path("/nonexistent") / key)

    def state_of(self, key: str) -> RunState:
        return RunState()

    async def change(self, key: str, state: RunState) -> None:
        self.changes.append(key)

    class clock:
        @staticmethod
        def time() -> float:
            return 0.0


async def test_one_user_gets_a_share_and_the_others_still_get_in(
        monkeypatch: pytest.MonkeyPatch) -> None:
    runner = LocalRunner(LocalRunConfig(max_concurrent=2, max_waiting=8, max_per_user=2,
                                        warm_snakemake=False))
    release = asyncio.Event()

    async def execute(*args: object) -> RunState:
        await release.wait()
        return RunState()

    monkeypatch.setattr(runner, "_execute", execute)
    ledger = Ledger()
    mine = [asyncio.create_task(runner.run(ledger, f"a{i}", "alice"))  # type: ignore[arg-type]
            for i in range(2)]
    await asyncio.sleep(0)
    with pytest.raises(TooManyRuns, match="alice has 2 local runs"):
        await runner.run(ledger, "a2", "alice")  # type: ignore[arg-type]
    theirs = asyncio.create_task(runner.run(ledger, "b0", "bob"))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(*mine, theirs)
    assert sorted(ledger.changes) == ["a0", "a1", "b0"]
    # Her runs over, alice has her share again.
    await runner.run(ledger, "a3", "alice")  # type: ignore[arg-type]
