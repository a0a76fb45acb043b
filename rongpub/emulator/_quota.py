"""Per-app quota windows, as the server may count them, and the worst-window measure.

RongCloud documents "N messages per second" without saying how the second is cut, so the
emulator offers both readings:

- `"fixed"`: calendar seconds; up to N targets in each [k, k+1) of the clock. A client may
  then squeeze 2N targets into one second that straddles a boundary.
- `"sliding"`: strict; at most N targets in ANY half-open 1 s window [t, t+1).

A client that never exceeds N in any 1 s window passes both. Quotas counted over a longer
window (private messages: 6,000 per minute) take its `length` in seconds instead of 1 s.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from typing import Literal, Protocol

__all__ = [
    "WINDOW_MODELS",
    "FixedWindow",
    "SlidingWindow",
    "Window",
    "WindowModel",
    "make_window",
    "worst_window",
]

WindowModel = Literal["fixed", "sliding"]
WINDOW_MODELS: tuple[WindowModel, ...] = ("fixed", "sliding")
_SECOND = 1.0


class Window(Protocol):
    """One quota: `take(now, n)` counts `n` targets at `now` (seconds) if they fit."""

    def take(self, now: float, n: int) -> bool:
        """True, counting the targets, when `n` more fit; False (nothing counted) otherwise."""
        ...


class FixedWindow:
    """At most `limit` targets per calendar window of `length` seconds of the clock."""

    def __init__(self, limit: int, length: float = _SECOND) -> None:
        self.limit = limit
        self.length = length
        self._second = -math.inf
        self._used = 0

    def take(self, now: float, n: int) -> bool:
        """Count `n` targets in the calendar window holding `now` if they fit."""
        second = math.floor(now / self.length)
        if second != self._second:
            self._second, self._used = second, 0
        if self._used + n > self.limit:
            return False
        self._used += n
        return True


class SlidingWindow:
    """At most `limit` targets in any window of `length` seconds: a log of its admissions."""

    def __init__(self, limit: int, length: float = _SECOND) -> None:
        self.limit = limit
        self.length = length
        self._log: deque[tuple[float, int]] = deque()
        self._used = 0

    def take(self, now: float, n: int) -> bool:
        """Count `n` targets at `now` if the window (now - length, now] then holds at most
        `limit`."""
        while self._log and self._log[0][0] + self.length <= now:  # the sum of worst_window
            self._used -= self._log.popleft()[1]
        if self._used + n > self.limit:
            return False
        self._log.append((now, n))
        self._used += n
        return True


def make_window(model: WindowModel, limit: int, length: float = _SECOND) -> Window:
    """A fresh window of `model` admitting `limit` targets per `length` seconds."""
    return FixedWindow(limit, length) if model == "fixed" else SlidingWindow(limit, length)


def worst_window(events: Sequence[tuple[float, int]], length: float = _SECOND) -> int:
    """The largest total weight inside any half-open window [t, t + length).

    `events`: (time in seconds, weight) pairs in time order, e.g. accepted targets.
    """
    worst = total = start = 0
    for time, weight in events:
        total += weight
        while events[start][0] + length <= time:  # as [t, t + length) holds it, in floats
            total -= events[start][1]
            start += 1
        worst = max(worst, total)
    return worst
