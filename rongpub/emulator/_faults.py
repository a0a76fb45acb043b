"""Fault injection: latency, 5xx answers, connection resets and 429 bursts, all seeded.

`Faults` is the plan for a run (a frozen value, also accepted as JSON by the control
endpoint); `FaultInjector` draws from one seeded `random.Random`, so a test with a seed
sees the same faults on every run.
"""

from __future__ import annotations

import math
import random

import msgspec

from ._wire import Rejection

__all__ = ["FaultInjector", "Faults", "rate_limited"]

_INTERNAL = Rejection(500, 1000, "internal error, retry later")
_TIMEOUT = Rejection(504, 1050, "internal timeout, retry after a short delay")


class Faults(msgspec.Struct, frozen=True, kw_only=True):
    """What goes wrong during a run; the default is a well-behaved server.

    `latency`: (min, max) seconds; each answer waits a uniform draw from that range.
    `error_rate`: fraction of valid publishes answered 500/1000 or 504/1050 (not recorded).
    `reset_before_rate`: fraction whose connection is reset before the message is recorded.
    `reset_after_rate`: fraction recorded as delivered, then reset: the client sees a failure.
    `rate_limit_every`, `rate_limit_length`: seconds; for the first `length` seconds of every
    `every`-second period of the clock, publishes are answered 429/1008.
    `retry_after`: seconds sent as a `Retry-After` header on every 429 (None: no header, as
    the real server).
    """

    latency: tuple[float, float] = (0.0, 0.0)
    error_rate: float = 0.0
    reset_before_rate: float = 0.0
    reset_after_rate: float = 0.0
    rate_limit_every: float | None = None
    rate_limit_length: float = 0.0
    retry_after: float | None = None

    def __post_init__(self) -> None:
        low, high = self.latency
        if not 0 <= low <= high:
            raise ValueError("latency must be (min, max) seconds with 0 <= min <= max")
        for name in ("error_rate", "reset_before_rate", "reset_after_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be a fraction between 0 and 1")
        every = self.rate_limit_every
        if every is not None and not 0 < self.rate_limit_length <= every:
            raise ValueError("rate_limit_length must be in (0, rate_limit_every] seconds")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError("retry_after must not be negative")


def rate_limited(message: str) -> Rejection:
    """429/1008, as documented for a request over the quota."""
    return Rejection(429, 1008, message)


class FaultInjector:
    """Draws each request's faults from `faults` with a seeded random generator."""

    def __init__(self, faults: Faults, seed: int | None) -> None:
        self.faults = faults
        self._rng = random.Random(seed)
        self._burst_requests = 0
        self._burst_until = -math.inf

    def delay(self) -> float:
        """Seconds to wait before this answer."""
        low, high = self.faults.latency
        return low if low == high else self._rng.uniform(low, high)

    def _roll(self, rate: float) -> bool:
        # Drawing only for active faults keeps other faults' sequences stable between runs.
        return rate > 0 and self._rng.random() < rate

    def reset_before(self) -> bool:
        """Whether to drop this connection before recording the message."""
        return self._roll(self.faults.reset_before_rate)

    def reset_after(self) -> bool:
        """Whether to drop this connection after recording the message."""
        return self._roll(self.faults.reset_after_rate)

    def server_error(self) -> Rejection | None:
        """A 5xx answer for this request, or None; 500 and 504 are equally likely."""
        if not self._roll(self.faults.error_rate):
            return None
        return _INTERNAL if self._rng.random() < 0.5 else _TIMEOUT

    def force_rate_limit(self, now: float, requests: int = 0, seconds: float = 0.0) -> None:
        """Answer the next `requests` publishes, and all for `seconds` from `now`, with 429."""
        self._burst_requests = max(self._burst_requests, requests)
        self._burst_until = max(self._burst_until, now + seconds)

    def forced_429(self, now: float) -> bool:
        """Whether this publish falls in a forced or periodic 429 burst (uses one up)."""
        if self._burst_requests > 0:
            self._burst_requests -= 1
            return True
        if now < self._burst_until:
            return True
        every = self.faults.rate_limit_every
        return every is not None and now % every < self.faults.rate_limit_length

    def clear(self) -> None:
        """Forget forced bursts."""
        self._burst_requests = 0
        self._burst_until = -math.inf

    def retry_after_headers(self) -> tuple[tuple[str, str], ...]:
        """The `Retry-After` header for a 429, when the faults ask for one."""
        seconds = self.faults.retry_after
        return () if seconds is None else (("retry-after", f"{seconds:g}"),)
