"""Virtual time for driving limiters on asyncio and trio (tests, simulations): a fake clock
and sleep, and a driver that jumps to the next timer once every task is asleep. Nothing
sleeps for real.

`lateness` makes every timer fire that many seconds late (as a busy event loop does), so tests
can check that a limiter records when a task really ran, not when it was due.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Awaitable, Callable

import anyio
import anyio.lowlevel

__all__ = ["FakeTime"]

# Checkpoints without any task entering or leaving a sleep before the world counts as settled;
# a woken or cancelled task runs within one scheduling round on both backends.
_QUIET_ROUNDS = 3


class FakeTime:
    """A virtual monotonic clock (starting at 0.0 s) with a matching cancellable sleep."""

    def __init__(self, lateness: Callable[[], float] | None = None) -> None:
        self.now = 0.0
        self._lateness = lateness or (lambda: 0.0)
        self._timers: list[tuple[float, int, anyio.Event]] = []
        self._live: set[int] = set()
        self._seq = itertools.count()
        self._sleeping = 0
        self._changes = 0
        self.alive = 0

    def clock(self) -> float:
        """Seconds of virtual time."""
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Sleep `seconds` of virtual time (`math.inf`: until cancelled; 0: just yield)."""
        if seconds <= 0:
            await anyio.lowlevel.checkpoint()
            return
        event = anyio.Event()
        seq = next(self._seq)
        if not math.isinf(seconds):
            heapq.heappush(self._timers, (self.now + seconds, seq, event))
            self._live.add(seq)
        self._sleeping += 1
        self._changes += 1
        try:
            await event.wait()
        finally:
            self._live.discard(seq)
            self._sleeping -= 1
            self._changes += 1

    def spawn(self, group: anyio.abc.TaskGroup, func: Callable[[], Awaitable[object]]) -> None:
        """Start `func()` (a coroutine function) in `group`, counted as alive until it ends."""
        self.alive += 1

        async def counted() -> None:
            try:
                await func()
            finally:
                self.alive -= 1

        group.start_soon(counted)

    async def run(self, limit: float = 1e6) -> None:
        """Advance virtual time until every spawned task has ended (or `limit` seconds)."""
        while True:
            await self.settle()
            if self.alive == 0:
                return
            if not self._advance() or self.now > limit:
                raise AssertionError(f"stuck at t={self.now}: {self.alive} tasks wait forever")

    async def settle(self) -> None:
        """Return once every alive task sleeps and nothing has moved for a few rounds."""
        quiet = 0
        for _ in range(100_000):
            if quiet >= _QUIET_ROUNDS and self._sleeping >= self.alive:
                return
            mark = self._changes
            await anyio.lowlevel.checkpoint()
            quiet = quiet + 1 if self._changes == mark else 0
        raise AssertionError("a task blocks outside FakeTime.sleep")

    def _advance(self) -> bool:
        while self._timers and self._timers[0][1] not in self._live:
            heapq.heappop(self._timers)
        if not self._timers:
            return False
        self.now = max(self.now, self._timers[0][0]) + self._lateness()
        while self._timers and self._timers[0][0] <= self.now:
            _, seq, event = heapq.heappop(self._timers)
            if seq in self._live:
                event.set()
        return True
