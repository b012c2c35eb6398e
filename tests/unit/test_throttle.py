"""Login throttling: token buckets per user name and per client address."""

from __future__ import annotations

import pytest

from service.accounts.throttle import MAX_KEYS, LoginThrottle
from service.core.errors import TooManyAttempts


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate_per_user_name() -> None:
    clock = Clock()
    throttle = LoginThrottle(burst=3, per_minute=6, concurrent_hashes=1, clock=clock)
    for i in range(3):
        throttle.attempt("alice", f"10.0.0.{i}")
    with pytest.raises(TooManyAttempts) as e:
        throttle.attempt("ALICE", "10.0.0.9")  # names compared case-blind
    assert e.value.retry_after_s == 10  # 6 a minute: one every 10 s
    clock.now += 10
    throttle.attempt("alice", "10.0.0.9")
    throttle.attempt("bob", "10.0.0.9")  # another name is not held back


def test_per_client_address() -> None:
    clock = Clock()
    throttle = LoginThrottle(burst=2, per_minute=60, concurrent_hashes=1, clock=clock)
    throttle.attempt("a", "192.0.2.1")
    throttle.attempt("b", "192.0.2.1")
    with pytest.raises(TooManyAttempts) as e:
        throttle.attempt("c", "192.0.2.1")
    assert e.value.retry_after_s == 1
    throttle.attempt("c", "192.0.2.2")


def test_a_refused_attempt_takes_nothing() -> None:
    clock = Clock()
    throttle = LoginThrottle(burst=1, per_minute=60, concurrent_hashes=1, clock=clock)
    throttle.attempt("a", "192.0.2.1")
    for _ in range(5):
        with pytest.raises(TooManyAttempts):
            throttle.attempt("b", "192.0.2.1")  # the address is out: b keeps its own
    throttle.attempt("b", "192.0.2.2")


def test_the_table_stays_bounded() -> None:
    clock = Clock()
    throttle = LoginThrottle(burst=1, per_minute=60, concurrent_hashes=1, clock=clock)
    for i in range(MAX_KEYS):
        throttle.attempt(f"u{i}", "192.0.2.1" if i == 0 else f"h{i}")
        clock.now += 0.0001
    clock.now += 120
    throttle.attempt("new", "192.0.2.99")
    assert len(throttle._buckets) < 10
