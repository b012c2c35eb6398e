"""Login throttling: each attempt costs an Argon2 hash (64 MiB, a core for a
while), so attempts are rationed per user name and per client address, and
only a few hashes run at once whoever asks.

Token buckets: each key holds up to `burst` attempts and gains `per_minute`
a minute; an attempt takes one from its name's bucket and its address's.
Pure bookkeeping with the clock passed in, so it is tested without waiting."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from service.core.errors import TooManyAttempts

# Past this many buckets, those full again (idle keys) are pruned, so made-up
# names cannot grow the table without end; the next pruning waits until the
# table has doubled, so that each attempt costs O(1) on average.
MAX_KEYS = 10_000


@dataclass
class _Bucket:
    tokens: float
    at: float


class LoginThrottle:
    def __init__(self, burst: int, per_minute: float, concurrent_hashes: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = float(max(1, burst))
        self.rate = max(per_minute, 0.001) / 60.0  # tokens per second
        self.clock = clock
        self.hashing = asyncio.Semaphore(max(1, concurrent_hashes))
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._prune_at = MAX_KEYS

    def _level(self, key: tuple[str, str], now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._prune_at:
                self._prune(now)
                self._prune_at = max(MAX_KEYS, 2 * len(self._buckets))
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        return bucket

    def _prune(self, now: float) -> None:
        for key, bucket in list(self._buckets.items()):
            if bucket.tokens + (now - bucket.at) * self.rate >= self.burst:
                del self._buckets[key]

    def attempt(self, username: str, address: str) -> None:
        """Take one attempt for this name and address, or raise TooManyAttempts
        (nothing taken) with the seconds to wait."""
        now = self.clock()
        # The address first: an address out of attempts adds no bucket for a name.
        buckets = [self._level(("address", address), now)]
        self._refuse_if_short(buckets[0])
        buckets.append(self._level(("user", username.lower()), now))
        self._refuse_if_short(buckets[1])
        for bucket in buckets:
            bucket.tokens -= 1.0

    def _refuse_if_short(self, bucket: _Bucket) -> None:
        if bucket.tokens < 1.0:
            wait = math.ceil((1.0 - bucket.tokens) / self.rate)
            raise TooManyAttempts("too many login attempts; wait before trying again",
                                  [f"retry after {wait} s"], retry_after_s=wait)
