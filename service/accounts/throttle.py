"""Login throttling: each attempt costs an Argon2 hash (64 MiB, a core for a
while), so failures are rationed per client address and per (user name, client
address), and only a few hashes run at once whoever asks.

Failures are never counted against a user name alone: anyone could then lock
any named user (the admin, say) out by failing on purpose from elsewhere. A
correct password from an address that has not failed is always let through.
IPv6 clients are grouped by /64, the block a single site or host usually owns,
so that one client cannot spray from addresses of its own block.

Token buckets: each key holds up to `burst` failures and gains `per_minute` a
minute; a failure takes one from its address's bucket and its (name, address)
bucket. Pure bookkeeping with the clock passed in, so it is tested without waiting."""

from __future__ import annotations

import asyncio
import ipaddress
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from service.core.errors import AuthenticationFailed, TooManyAttempts

# Past this many buckets, those full again (idle keys) are pruned, so made-up
# names cannot grow the table without end; the next pruning waits until the
# table has doubled, so that each attempt costs O(1) on average.
MAX_KEYS = 10_000
IPV6_GROUP_PREFIX = 64

T = TypeVar("T")


def client_group(address: str) -> str:
    """The key failures of this client address count under: an IPv4 address as
    it is, an IPv6 address by its /64 (an IPv4-mapped one as its IPv4 address)."""
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, IPV6_GROUP_PREFIX), strict=False))
    return str(parsed)


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
        self._buckets: dict[tuple[str, ...], _Bucket] = {}
        self._prune_at = MAX_KEYS

    def _level(self, key: tuple[str, ...], now: float) -> _Bucket:
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

    @staticmethod
    def _keys(username: str, address: str) -> list[tuple[str, ...]]:
        group = client_group(address)
        # The address first: an address out of attempts adds no bucket for a name.
        return [("address", group), ("user", username.lower(), group)]

    def check(self, username: str, address: str) -> None:
        """Raise TooManyAttempts, with the seconds to wait, if this address, or
        this name from this address, has no failure left; take nothing."""
        now = self.clock()
        for key in self._keys(username, address):
            self._refuse_if_short(self._level(key, now))

    def failed(self, username: str, address: str) -> None:
        """Count one failed attempt of this name from this address."""
        now = self.clock()
        for key in self._keys(username, address):
            bucket = self._level(key, now)
            bucket.tokens = max(0.0, bucket.tokens - 1.0)

    async def attempt(self, username: str, address: str,
                      verify: Callable[[], Awaitable[T]]) -> T:
        """Run `verify` (which hashes) unless throttled, at most `concurrent_hashes`
        at a time, counting an AuthenticationFailed it raises as a failure."""
        self.check(username, address)
        async with self.hashing:
            # Checked again once a hash slot is ours: failures of the same
            # client may have landed while this one waited, and without this
            # check a burst of parallel requests would all be hashed.
            self.check(username, address)
            try:
                return await verify()
            except AuthenticationFailed:
                self.failed(username, address)
                raise

    def _refuse_if_short(self, bucket: _Bucket) -> None:
        if bucket.tokens < 1.0:
            wait = math.ceil((1.0 - bucket.tokens) / self.rate)
            raise TooManyAttempts("too many login attempts; wait before trying again",
                                  [f"retry after {wait} s"], retry_after_s=wait)
