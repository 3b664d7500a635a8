"""A circuit breaker: stop calling a dependency that keeps failing, try again later.

CLOSED lets every call through and counts consecutive failures; at
`failure_threshold` it OPENs and refuses calls for `reset_after` seconds, so
a dead or slow Redis costs requests nothing (not even a timeout). Then one
trial call is let through (HALF_OPEN): success closes the breaker, failure
opens it for another period. A pure state machine over an injected clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import Enum


class BreakerState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        *,
        failure_threshold: int = 3,
        reset_after: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = failure_threshold
        self._reset_after = reset_after
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False
        self._trial_started = 0.0
        self.opened = 0  # times the breaker tripped, for metrics
        self.rejected = 0  # calls refused while open

    @property
    def state(self) -> BreakerState:
        if (
            self._state is BreakerState.OPEN
            and self._clock() - self._opened_at >= self._reset_after
        ):
            return BreakerState.HALF_OPEN
        return self._state

    def allow(self) -> bool:
        """Whether to make a call now; a True in HALF_OPEN reserves the one trial call."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        now = self._clock()
        # A trial that never reported back (cancelled) must not wedge the breaker.
        if state is BreakerState.HALF_OPEN and (
            not self._trial_in_flight or now - self._trial_started >= self._reset_after
        ):
            self._state = BreakerState.HALF_OPEN
            self._trial_in_flight = True
            self._trial_started = now
            return True
        self.rejected += 1
        return False

    def success(self) -> None:
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._trial_in_flight = False

    def failure(self) -> None:
        self._trial_in_flight = False
        if self._state is BreakerState.HALF_OPEN:
            self._open()
            return
        self._failures += 1
        if self._state is BreakerState.CLOSED and self._failures >= self._threshold:
            self._open()

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self._clock()
        self._failures = 0
        self.opened += 1
