"""The time, injected: what reads it takes a Clock, so its tests use a fake one and
never sleep."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def time(self) -> float:
        """Seconds since the epoch (wall clock: what is written into run folders)."""
        ...

    def monotonic(self) -> float:
        """Seconds that never go back (intervals, deadlines)."""
        ...


class SystemClock:
    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


SYSTEM_CLOCK: Clock = SystemClock()
