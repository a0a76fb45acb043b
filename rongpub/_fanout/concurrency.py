"""How many fan-out requests are in flight at once: Little's law with headroom.

To keep a quota of R targets/s busy with packs of P targets on average, R/P requests must
leave each second; each is in flight for its latency W, so about (R/P) * W are in flight at
once. The controller keeps `ceil((R/P) * W * HEADROOM) + 1` slots, W being the median
latency of recent requests.

A request's duration also includes its wait for quota in the client's limiter, and sizing
on that would feed on itself (more slots, longer queues, longer durations, more slots). So
the controller predicts each request's wait from the quota's own rule: packs follow a cycle
of `period` requests that sums to the limit, so in a sliding window a request leaves no
sooner than one window after the request `period` places earlier. Duration minus predicted
wait is the latency sample. With no quota, a fixed number is used.
"""

from __future__ import annotations

import math
from collections import deque

from .options import (
    FANOUT_HEADROOM,
    FANOUT_INITIAL_LATENCY,
    FANOUT_MAX_CONCURRENCY,
    FANOUT_MIN_CONCURRENCY,
    FANOUT_UNLIMITED_CONCURRENCY,
)

__all__ = ["Concurrency"]

_SAMPLES = 32


class Concurrency:
    """The number of requests a fan-out keeps in flight.

    `quota`: targets per `window` seconds (None: unlimited); `period`: requests in one
    cycle of pack sizes (which sums to `quota`); `maximum`: the cap. Call `dispatched` as a
    request starts and `observe` when it has been answered.
    """

    def __init__(
        self,
        *,
        quota: int | None,
        period: int,
        window: float = 1.0,
        maximum: int = FANOUT_MAX_CONCURRENCY,
    ) -> None:
        self._requests_per_second = None if quota is None else period / window
        self._window = window
        self._maximum = maximum
        self._releases: deque[float] = deque(maxlen=period)
        self._latencies: deque[float] = deque(maxlen=_SAMPLES)
        self.limit = self._slots(FANOUT_INITIAL_LATENCY)

    def _slots(self, latency: float) -> int:
        if self._requests_per_second is None:
            return min(self._maximum, FANOUT_UNLIMITED_CONCURRENCY)
        needed = math.ceil(self._requests_per_second * latency * FANOUT_HEADROOM) + 1
        return max(FANOUT_MIN_CONCURRENCY, min(self._maximum, needed))

    def dispatched(self, now: float) -> float:
        """A request starts at `now` (seconds, monotonic); returns the seconds it is
        predicted to wait for quota."""
        if self._requests_per_second is None:
            return 0.0
        releases = self._releases
        release = now
        if len(releases) == releases.maxlen:
            release = max(now, releases[0] + self._window)
        releases.append(release)
        return release - now

    def observe(self, duration: float, waited: float) -> int:
        """A request took `duration` seconds of which `waited` were predicted by
        `dispatched`; returns the new limit."""
        self._latencies.append(max(0.0, duration - waited))
        self.limit = self._slots(sorted(self._latencies)[len(self._latencies) // 2])
        return self.limit
