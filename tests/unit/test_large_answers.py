"""The bound on large answers in flight, and on stdout held in an answer (issue 19:
three slow GETs of a 60 MB stdout grew the service by 450 MB)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from service.core.errors import Busy, TooLarge
from service.runs.folder import RunFolder
from service.runs.results import stdout_text
from service.web.large_answers import LargeAnswers


async def test_a_request_past_the_slots_waits_then_is_busy() -> None:
    answers = LargeAnswers(slots=1, wait_s=0.01)
    async with answers.slot():
        with pytest.raises(Busy):
            async with answers.slot():
                pass
    async with answers.slot():  # given back once the first answer is sent
        pass


async def test_a_waiting_request_gets_the_slot_when_one_is_given_back() -> None:
    answers = LargeAnswers(slots=1, wait_s=5)
    order: list[str] = []
    first_in = asyncio.Event()

    async def first() -> None:
        async with answers.slot():
            first_in.set()
            order.append("first")

    async def second() -> None:
        await first_in.wait()
        async with answers.slot():
            order.append("second")

    await asyncio.gather(first(), second())
    assert order == ["first", "second"]


def test_stdout_above_the_limit_is_refused_naming_the_alternatives(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "run")
    folder.work.mkdir(parents=True)
    folder.stdout.write_text("x" * 2000 + "\n")
    assert stdout_text(folder, limit=4096) == "x" * 2000
    with pytest.raises(TooLarge) as refused:
        stdout_text(folder, limit=1000)
    assert "stdout.txt" in " ".join(refused.value.more)
