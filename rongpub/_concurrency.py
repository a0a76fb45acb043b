"""How many fan-out requests are in flight at once: Little's law with headroom.

To keep a quota of R targets/s busy with packs of P targets on average, R/P requests must
leave each second; each is in flight for its latency W, so about (R/P) * W are in flight at
once. The controller keeps `ceil((R/P) * W * HEADROOM) + 1` slots, W being the median of the
last requests' durations. A duration includes time queued in the rate limiter, which would
feed on itself (more slots, longer queues, longer durations), so the estimate only changes
while the completions fall short of the quota: then the limiter is not what holds requests
back, and durations are latency. With no quota, the maximum is used.
"""

from __future__ import annotations

import math
from collections import deque

from ._fanout_options import (
    FANOUT_HEADROOM,
    FANOUT_INITIAL_LATENCY,
    FANOUT_MAX_CONCURRENCY,
    FANOUT_MIN_CONCURRENCY,
    FANOUT_UNLIMITED_CONCURRENCY,
)

__all__ = ["Concurrency"]

_SAMPLES = 32
#: Below this fraction of the quota the limiter is not the bottleneck.
_QUOTA_BOUND = 0.85
#: Seconds of completions the throughput is measured over.
_HORIZON = 2.0


class Concurrency:
    """The number of requests a fan-out keeps in flight.

    `quota`: targets per second (None: unlimited); `pack`: mean targets per request;
    `maximum`: the cap. Feed every finished request to `observe`.
    """

    def __init__(
        self, *, quota: int | None, pack: float, maximum: int = FANOUT_MAX_CONCURRENCY
    ) -> None:
        self._requests_per_second = None if quota is None else quota / pack
        self._quota = quota
        self._maximum = maximum
        self._durations: deque[float] = deque(maxlen=_SAMPLES)
        self._completions: deque[tuple[float, int]] = deque()
        self._completed_targets = 0
        self.limit = self._slots(FANOUT_INITIAL_LATENCY)

    def _slots(self, latency: float) -> int:
        if self._requests_per_second is None:
            return min(self._maximum, FANOUT_UNLIMITED_CONCURRENCY)
        needed = math.ceil(self._requests_per_second * latency * FANOUT_HEADROOM) + 1
        return max(FANOUT_MIN_CONCURRENCY, min(self._maximum, needed))

    def observe(self, now: float, duration: float, targets: int) -> int:
        """Record a request of `targets` that took `duration` seconds, finished at `now`
        (seconds, any monotonic clock); returns the new limit."""
        self._durations.append(duration)
        self._completions.append((now, targets))
        self._completed_targets += targets
        while now - self._completions[0][0] > _HORIZON:
            self._completed_targets -= self._completions.popleft()[1]
        if self._quota is not None and not self._quota_bound(now):
            self.limit = self._slots(_median(self._durations))
        return self.limit

    def _quota_bound(self, now: float) -> bool:
        assert self._quota is not None
        span = now - self._completions[0][0]
        if span < _HORIZON / 2:  # too short to tell; assume the limiter holds requests back
            return True
        return self._completed_targets / span >= _QUOTA_BOUND * self._quota


def _median(values: deque[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]
