"""The circuit breaker on its own, with a clock the test moves: closed → open after N
outage failures → refuses during the cool-down → one probe (half-open) → closed on success,
open again (twice as long, capped) on failure. Other failures neither count nor reset."""

from __future__ import annotations

import pytest

from ladder_lsp.backends import breaker
from ladder_lsp.backends.breaker import BreakerOpen, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(threshold: int = 3, cooldown: float = 10.0) -> tuple[CircuitBreaker, Clock]:
    clock = Clock()
    return CircuitBreaker("test", threshold=threshold, cooldown=cooldown, clock=clock), clock


def fail(b: CircuitBreaker, times: int = 1) -> None:
    for _ in range(times):
        b.before_call()
        b.failure()


def test_opens_after_threshold_and_refuses_during_cooldown() -> None:
    b, clock = make()
    fail(b, 2)
    assert b.state == breaker.CLOSED
    fail(b)
    assert b.state == breaker.OPEN and b.trips == 1
    with pytest.raises(BreakerOpen) as refused:
        b.before_call()
    assert refused.value.retry_in == pytest.approx(10.0)
    clock.now += 9.9
    with pytest.raises(BreakerOpen):
        b.before_call()
    assert b.refused == 2


def test_half_open_allows_one_probe_and_success_closes() -> None:
    b, clock = make()
    fail(b, 3)
    clock.now += 10.0
    b.before_call()  # the probe
    assert b.state == breaker.HALF_OPEN
    with pytest.raises(BreakerOpen):
        b.before_call()  # a second caller while the probe is out
    b.success()
    assert b.state == breaker.CLOSED and b.failures == 0
    b.before_call()


def test_failed_probe_reopens_for_twice_as_long_capped() -> None:
    b, clock = make(cooldown=100.0)
    fail(b, 3)
    for expected in (200.0, 300.0, 300.0):  # doubled, then capped at MAX_COOLDOWN
        clock.now += 1000.0
        fail(b)
        assert b.state == breaker.OPEN
        assert b.retry_in() == pytest.approx(expected)
    assert b.trips == 4
    clock.now += 300.0
    b.before_call()
    b.success()
    assert b.snapshot()["cooldown"] == 100.0, "success resets the cool-down"


def test_other_failures_free_the_probe_without_counting() -> None:
    b, clock = make()
    fail(b, 3)
    clock.now += 10.0
    b.before_call()
    b.neutral()  # e.g. a cut stream or a cancelled run
    assert b.state == breaker.HALF_OPEN and b.trips == 1
    b.before_call()  # the next caller may probe
    b.success()
    assert b.state == breaker.CLOSED


def test_breakers_are_shared_per_endpoint() -> None:
    a = breaker.for_endpoint("http://127.0.0.1:1/stress-test")
    assert breaker.for_endpoint("http://127.0.0.1:1/stress-test") is a
    assert "http://127.0.0.1:1/stress-test" in breaker.snapshot()
