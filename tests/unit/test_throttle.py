"""Login throttling: token buckets of failures per client address and per
(user name, client address), IPv6 addresses grouped by /64."""

from __future__ import annotations

import asyncio

import pytest

from service.accounts.throttle import MAX_KEYS, LoginThrottle, client_group
from service.core.errors import AuthenticationFailed, TooManyAttempts


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_per_name_and_address() -> None:
    clock = Clock()
    throttle = LoginThrottle(burst=3, per_minute=6, concurrent_hashes=1, clock=clock)
    for _ in range(3):
        throttle.failed("alice", "10.0.0.1")
    with pytest.raises(TooManyAttempts) as e:
        throttle.check("ALICE", "10.0.0.1")  # names compared case-blind
    assert e.value.retry_after_s == 10  # 6 a minute: one every 10 s
    throttle.check("alice", "10.0.0.2")  # the name from elsewhere is not held back
    clock.now += 10
    throttle.check("alice", "10.0.0.1")


def test_failures_from_many_addresses_never_lock_a_name_out() -> None:
    throttle = LoginThrottle(burst=3, per_minute=1, concurrent_hashes=1, clock=Clock())
    for i in range(100):
        throttle.failed("admin", f"10.0.{i // 250}.{i % 250}")
    throttle.check("admin", "192.0.2.7")


def test_per_client_address() -> None:
    clock = Clock()
    throttle = LoginThrottle(burst=2, per_minute=60, concurrent_hashes=1, clock=clock)
    throttle.failed("a", "192.0.2.1")
    throttle.failed("b", "192.0.2.1")
    with pytest.raises(TooManyAttempts) as e:
        throttle.check("c", "192.0.2.1")
    assert e.value.retry_after_s == 1
    throttle.check("c", "192.0.2.2")


def test_an_ipv6_slash_64_is_one_client() -> None:
    throttle = LoginThrottle(burst=40, per_minute=1, concurrent_hashes=1, clock=Clock())
    for i in range(40):
        throttle.failed(f"user{i}", f"2001:db8:1:2::{i + 1:x}")
    with pytest.raises(TooManyAttempts):
        throttle.check("someone", "2001:db8:1:2:ffff:ffff:ffff:ffff")
    throttle.check("someone", "2001:db8:1:3::1")  # the next /64 is another client


def test_client_groups() -> None:
    assert client_group("192.0.2.1") == "192.0.2.1"
    assert client_group("::ffff:192.0.2.1") == "192.0.2.1"
    assert client_group("2001:db8::1") == client_group("2001:db8::abcd:1") == "2001:db8::/64"
    assert client_group("fe80::1%eth0") == "fe80::/64"
    assert client_group("unknown") == "unknown"


async def test_a_refused_attempt_neither_hashes_nor_counts() -> None:
    throttle = LoginThrottle(burst=1, per_minute=60, concurrent_hashes=1, clock=Clock())
    calls: list[str] = []

    async def wrong() -> str:
        calls.append("hash")
        raise AuthenticationFailed("wrong username or password")

    with pytest.raises(AuthenticationFailed):
        await throttle.attempt("a", "192.0.2.1", wrong)
    for _ in range(5):
        with pytest.raises(TooManyAttempts):
            await throttle.attempt("b", "192.0.2.1", wrong)
    assert calls == ["hash"]


async def test_a_success_counts_nothing() -> None:
    throttle = LoginThrottle(burst=1, per_minute=60, concurrent_hashes=1, clock=Clock())

    async def right() -> str:
        return "a"

    for _ in range(5):
        assert await throttle.attempt("a", "192.0.2.1", right) == "a"


def test_the_table_stays_bounded() -> None:
    clock = Clock()
    throttle = LoginThrottle(burst=1, per_minute=60, concurrent_hashes=1, clock=clock)
    for i in range(MAX_KEYS):
        throttle.failed(f"u{i}", "192.0.2.1" if i == 0 else f"h{i}")
        clock.now += 0.0001
    clock.now += 120
    throttle.failed("new", "192.0.2.99")
    assert len(throttle._buckets) < 10


async def test_parallel_failures_are_bounded_by_the_burst() -> None:
    throttle = LoginThrottle(burst=2, per_minute=1, concurrent_hashes=1, clock=Clock())
    hashes: list[int] = []

    async def wrong() -> str:
        hashes.append(1)
        await asyncio.sleep(0)  # lets the others queue for the hash slot
        raise AuthenticationFailed("wrong username or password")

    results = await asyncio.gather(*(throttle.attempt("a", "192.0.2.1", wrong)
                                     for _ in range(10)), return_exceptions=True)
    assert len(hashes) == 2
    assert sum(isinstance(r, TooManyAttempts) for r in results) == 8
