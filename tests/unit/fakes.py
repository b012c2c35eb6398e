"""Fakes shared by the unit tests."""

from __future__ import annotations


class FakeClock:
    """A clock the test moves: nothing sleeps on the wall clock."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.elapsed = 0.0

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.elapsed

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.elapsed += seconds
