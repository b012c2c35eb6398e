"""The bound on large answers in flight.

A JSON answer holds the whole stdout (escaped, up to six times its size) in
memory while a client, maybe a slow one, reads it, and a zip of a run folder is
built on disk and in CPU: so at most `limits.max_large_answers` of them are
built and sent at once. Past that, a request waits for a slot a while, then
gets 503 with Retry-After. The key alone reads a run, so this bound is what
keeps a few clients from exhausting the login node."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from service.core.errors import Busy

SLOT_WAIT_S = 30.0


class LargeAnswers:
    """At most `slots` large answers built and sent at once."""

    def __init__(self, slots: int, wait_s: float = SLOT_WAIT_S) -> None:
        self._slots = asyncio.Semaphore(max(1, slots))
        self.wait_s = wait_s

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        try:
            await asyncio.wait_for(self._slots.acquire(), self.wait_s)
        except TimeoutError:
            raise Busy("too many large answers (run folders, long stdouts) are being "
                       "sent right now", ["retry in a moment"]) from None
        try:
            yield
        finally:
            self._slots.release()
