"""`Booker`: what the bookings of every quota share, and a `SharedQuota` per quota.

The shared part: the store (Redis's scripts), where moves of bookings are heard, the
settings, the mapping of Redis's clock, the counters (`RedisStats`) and the task group that
runs the background work (`Background`). Failures of Redis calls become
`LimiterUnavailableError` here, in `call`, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
from redis.exceptions import RedisError

from .._exceptions import LimiterUnavailableError
from .._limit.protocol import Quota
from .booking import SharedQuota
from .clock import RedisClock
from .protocols import Crowding, Store
from .stats import RedisStats
from .store import QuotaKeys
from .tasks import Background

__all__ = ["Booker", "Clock", "Sleep"]

_T = TypeVar("_T")
Sleep = Callable[[float], Awaitable[object]]
Clock = Callable[[], float]


class Booker:
    """Makes each quota's `SharedQuota` and holds what they share.

    `timeout`: seconds one Redis call may take. `interval`: least seconds between two bookings
    of a quota at different instants (`None`: as the in-process limiter); `share`: most
    bookings at one instant. `slack`: see `RedisStore.reserve`; also the most seconds a send
    may leave after its instant. `lead`: seconds a task wakes before its instant, once
    departures are reported (a client whose transport never calls `leaving()` would
    otherwise send that early). `crowding`: where moves of bookings crowded by a late send are
    heard (`None`: nowhere). `clock`, `sleep`: local monotonic seconds and how to wait
    (injectable for tests). `notice`: seconds ahead of its instant a queued bulk booking
    may still be moved by an interactive one. `tasks`: where background work runs (closed
    by `aclose()`); `stats`: the counters to keep.
    """

    def __init__(
        self,
        store: Store,
        *,
        timeout: float,
        interval: float | None,
        share: int,
        slack: float,
        lead: float,
        crowding: Crowding | None,
        clock: Clock,
        sleep: Sleep,
        notice: float = 0.0,
        tasks: Background | None = None,
        stats: RedisStats | None = None,
    ) -> None:
        self.store = store
        self.crowding = crowding
        self.timeout = timeout
        self.interval = interval
        self.share = share
        self.slack = slack
        self.lead = lead
        self.notice = notice
        self.clock = clock
        self.sleep = sleep
        self.tasks = Background() if tasks is None else tasks
        self.stats = RedisStats() if stats is None else stats
        self.redis_clock = RedisClock()
        #: Whether any departure was reported: then tasks wake `lead` early.
        self.reported = False
        #: Whether a fallback serves the quotas now (an outage began; set by the limiter).
        self.fallen_back: Callable[[], bool] = lambda: False
        self._quotas: dict[Quota, SharedQuota] = {}

    def quota(self, quota: Quota, keys: Callable[[Quota], QuotaKeys]) -> SharedQuota:
        """`quota`'s bookings, under the keys `keys(quota)` names (made once, kept)."""
        shared = self._quotas.get(quota)
        if shared is None:
            shared = self._quotas[quota] = SharedQuota(self, quota, keys(quota))
        return shared

    def quotas(self) -> list[SharedQuota]:
        """Every quota booked so far."""
        return list(self._quotas.values())

    async def call(self, call: Callable[[], Awaitable[_T]]) -> _T:
        """Run one Redis call within the timeout; failures become `LimiterUnavailableError`."""
        try:
            with anyio.fail_after(self.timeout):
                return await call()
        except (RedisError, OSError) as exc:  # TimeoutError is an OSError
            raise LimiterUnavailableError(
                f"Redis did not answer the rate limiter ({type(exc).__name__}: {exc})"
            ) from exc

    def answered(self) -> None:
        """Redis answered a booking: if an outage began meanwhile, it is not used
        (`LimiterUnavailableError`). The fallback serves alone until Redis is probed: it
        started from the bookings held when the outage began and does not count later ones,
        so sending on both would crowd a window (seen when a SIGSTOPped Redis resumed)."""
        if self.fallen_back():
            raise LimiterUnavailableError(
                "Redis answered a booking after an outage began; the fallback keeps the "
                "quota until Redis is probed"
            )

    def resubscribed(self, channel: str) -> None:
        """The moves listener lost Redis and is back: check the log's epoch (in the
        background), so that a process booking nothing still registers its bookings again
        if Redis restarted empty."""
        for shared in self.quotas():
            if shared.keys.moved == channel:
                self.tasks.start_soon(shared.check_epoch)

    async def aclose(self) -> None:
        """Stop listening, then finish the background work (reports of late writes)."""
        if self.crowding is not None:
            await self.crowding.aclose()
        await self.tasks.aclose()
