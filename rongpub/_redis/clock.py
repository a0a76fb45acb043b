"""Redis's clock on this process's clock: when a booked instant comes, locally.

Redis books instants on its own clock (`TIME`, microseconds of wall time); a process sleeps
and checks lateness on its monotonic clock (seconds). The two differ by an offset that each
call bounds: Redis read its clock after the call was made and before its reply was handled,
so `redis_now - replied <= offset <= redis_now - asked`. Of the recent calls, the largest
lower bound and the smallest upper bound are kept: a send waits until the instant mapped with
the lower bound (never before the true instant) and counts its lateness from the instant
mapped with the upper bound (never less than the true lateness). The two differ by about the
fastest recent round trip: ~1 ms on loopback, but hundreds of milliseconds for the first
calls of processes starting together on a busy machine; while it exceeds the slack, a send
reads Redis's clock once more before judging its lateness (`Booker`). Only recent calls
count, and bounds that contradict each other (a clock stepped) are dropped.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Final

__all__ = ["Due", "RedisClock"]

_MICROS: Final = 1_000_000
#: Calls whose bounds are kept.
SAMPLES: Final = 32
#: Seconds by which bounds may cross from rounding alone (whole microseconds, float seconds).
_ROUNDING: Final = 2e-6


@dataclass(frozen=True)
class Due:
    """A booked instant on the local clock (seconds): not before `earliest`, and by `latest`
    at the latest (the true instant lies between)."""

    earliest: float
    latest: float


class RedisClock:
    """Maps Redis instants to the local clock, learning the offset from calls."""

    def __init__(self, samples: int = SAMPLES) -> None:
        self._lower: deque[float] = deque(maxlen=samples)
        self._upper: deque[float] = deque(maxlen=samples)

    def observe(self, redis_now: int, asked: float, replied: float) -> None:
        """A call made at local `asked` read Redis's clock as `redis_now` (microseconds) and
        was answered at local `replied` (seconds)."""
        now = redis_now / _MICROS
        self._lower.append(now - replied)
        self._upper.append(now - asked)
        if max(self._lower) > min(self._upper) + _ROUNDING:  # a clock stepped: trust this call
            self._lower.clear()
            self._upper.clear()
            self._lower.append(now - replied)
            self._upper.append(now - asked)

    @property
    def spread(self) -> float:
        """Seconds between the earliest and latest local time of any instant (inf: no call yet)."""
        if not self._lower:
            return math.inf
        return min(self._upper) - max(self._lower)

    def latest_instant(self, local: float) -> int:
        """The Redis instant (microseconds) of local time `local`, at the latest: never before
        the true one."""
        return math.ceil((local + min(self._upper)) * _MICROS)

    def due(self, instant: int) -> Due:
        """Where the Redis `instant` (microseconds) falls on the local clock."""
        at = instant / _MICROS
        return Due(earliest=at - min(self._upper), latest=at - max(self._lower))
