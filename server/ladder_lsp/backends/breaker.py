"""A small circuit breaker for a remote tier, so an outage is not hammered.

After `threshold` consecutive outage failures (overloaded, 5xx) the breaker *opens*: calls are
refused at once for a cool-down. When the cool-down has passed, one call goes through as a
probe (*half-open*); its success closes the breaker, its failure opens it again for twice as
long (capped). Other failures (a bad key, a cut stream, a cancelled run) neither count nor
reset the streak; they only free the probe slot.

Breakers are shared per endpoint (one per Claude base URL), so new settings or a new backend
object do not forget an outage in progress. Pure and dependency-free: `snapshot()` is cheap
enough for a status or debug command.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from typing import Any

COOLDOWN_ENV = "LADDER_BREAKER_COOLDOWN"  # seconds (operators, tests); default below
THRESHOLD_ENV = "LADDER_BREAKER_THRESHOLD"
DEFAULT_THRESHOLD = 3
DEFAULT_COOLDOWN = 30.0
MAX_COOLDOWN = 300.0

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half-open"


class BreakerOpen(Exception):
    """The call was not made: the endpoint is in an outage; `retry_in` seconds to the probe."""

    def __init__(self, retry_in: float) -> None:
        super().__init__(f"circuit open; next attempt in {retry_in:.0f} s")
        self.retry_in = retry_in


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        threshold: int | None = None,
        cooldown: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.threshold = max(1, threshold or _env_number(THRESHOLD_ENV, DEFAULT_THRESHOLD))
        self.base_cooldown = max(
            0.0, cooldown if cooldown is not None else _env_number(COOLDOWN_ENV, DEFAULT_COOLDOWN)
        )
        self._clock = clock
        self._lock = threading.Lock()
        self.state = CLOSED
        self.failures = 0  # consecutive outage failures
        self.trips = 0  # times it opened
        self.refused = 0  # calls refused while open
        self._cooldown = self.base_cooldown
        self._opened_at = 0.0
        self._probing = False

    def before_call(self) -> None:
        """Raise BreakerOpen, or let the call go (as the probe when the cool-down is over)."""
        with self._lock:
            if self.state == CLOSED:
                return
            if self.state == OPEN:
                left = self._opened_at + self._cooldown - self._clock()
                if left > 0:
                    self.refused += 1
                    raise BreakerOpen(left)
                self.state = HALF_OPEN
            if self._probing:  # half-open: one probe at a time
                self.refused += 1
                raise BreakerOpen(0.0)
            self._probing = True

    def success(self) -> None:
        with self._lock:
            self.state = CLOSED
            self.failures = 0
            self._cooldown = self.base_cooldown
            self._probing = False

    def failure(self) -> None:
        """An outage failure (overloaded, 5xx)."""
        with self._lock:
            self.failures += 1
            if self.state == HALF_OPEN:
                self._cooldown = min(MAX_COOLDOWN, max(self._cooldown * 2, 1.0))
                self._open()
            elif self.state == CLOSED and self.failures >= self.threshold:
                self._open()
            self._probing = False

    def neutral(self) -> None:
        """Any other ending (client error, cut stream, cancellation): frees the probe slot."""
        with self._lock:
            self._probing = False

    def retry_in(self) -> float:
        with self._lock:
            if self.state != OPEN:
                return 0.0
            return max(0.0, self._opened_at + self._cooldown - self._clock())

    def snapshot(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "failures": self.failures,
            "trips": self.trips,
            "refused": self.refused,
            # rounded up: 0 only when a call would go through now
            "retryIn": math.ceil(self.retry_in() * 100) / 100,
            "cooldown": self._cooldown,
        }

    def _open(self) -> None:
        self.state = OPEN
        self.trips += 1
        self._opened_at = self._clock()


_REGISTRY: dict[str, CircuitBreaker] = {}
_REGISTRY_LOCK = threading.Lock()


def for_endpoint(name: str) -> CircuitBreaker:
    """The shared breaker of one endpoint (e.g. a Claude base URL)."""
    with _REGISTRY_LOCK:
        found = _REGISTRY.get(name)
        if found is None:
            found = _REGISTRY[name] = CircuitBreaker(name)
        return found


def snapshot() -> dict[str, dict[str, Any]]:
    """Every breaker's state, by endpoint name."""
    with _REGISTRY_LOCK:
        breakers = list(_REGISTRY.values())
    return {b.name: b.snapshot() for b in breakers}


def _env_number(name: str, default: float) -> Any:
    raw = os.environ.get(name, "")
    try:
        value = float(raw) if raw else default
    except ValueError:
        return default
    return int(value) if isinstance(default, int) else value
