"""One acquisition against Redis: book, sleep once, send.

A booking names an instant on Redis's clock; the caller sleeps the delay Redis gave and
returns. A task cancelled while it holds a booking gives it back in a shielded call before
the cancellation propagates, so a cancelled waiter leaves no lasting over-throttling.

Lateness. The send leaves when this process has handled Redis's answer and its timer has
fired; a busy event loop makes both late, never early. Bookings made after this one were
placed against its instant, so a send later than `margin + slack` after it can crowd the
next window. That is why the Redis limiter adds `slack` to the window: measured with 8
processes starting together on 2 busy cores, sends left a median 13 ms and at worst ~90 ms
after their instant. A late booking is not re-booked: moving it would leave a hole the
bookings behind it cannot use, and when a busy machine makes every task late at once every
task would fall to the back of the queue (tried: the quota went almost unused).

Pauses. A 429 sets the quota's pause-until in Redis, which every new booking in every
process respects; bookings already handed out keep their instant (each fits the shared
log). Recalling them over pub/sub was tried: every pause then cost one call per sleeping
task in every process and left holes, and the share of the quota used in the shared-quota
benchmark fell by about a quarter for the same number of 429s.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

import anyio
from redis.exceptions import RedisError

from ._exceptions import LimiterUnavailableError
from ._limiter import Quota
from ._redis_store import QuotaKeys, RedisStore

__all__ = ["Booker", "Sleep"]

#: Seconds kept between two bookings of one quota at most. Bookings are acted on by many
#: processes whose timers wake late independently, so they keep the in-process limiter's
#: earlier 5 ms spacing rather than its 1 ms.
MAX_INTERVAL = 0.005

_T = TypeVar("_T")
Sleep = Callable[[float], Awaitable[object]]


class Booker:
    """Books, waits out and gives back reservations through a `RedisStore`.

    `timeout`: seconds one Redis call may take. `interval`: least seconds between two bookings
    of a quota (`None`: as the in-process limiter). `slack`: see `RedisStore.reserve`.
    `sleep`: how to wait, in seconds (injectable for tests).
    """

    def __init__(
        self,
        store: RedisStore,
        *,
        timeout: float,
        interval: float | None,
        slack: float,
        sleep: Sleep,
    ) -> None:
        self._store = store
        self._timeout = timeout
        self._interval = interval
        self._slack = slack
        self._sleep = sleep

    async def acquire(self, keys: QuotaKeys, quota: Quota, cost: int) -> None:
        """Return when `cost` units of `quota` may leave; `LimiterUnavailableError` if Redis
        fails (its entries then expire with their window)."""
        member = self._store.new_member(cost)
        interval = self._interval
        if interval is None:  # the in-process limiter's pacing
            interval = min(MAX_INTERVAL, (quota.window + quota.margin) / (2 * quota.limit))
        reserve = partial(
            self._store.reserve, keys, quota, member, interval=interval, slack=self._slack
        )
        try:
            booking = await self.call(reserve)
            await self._sleep(booking.delay)
        except LimiterUnavailableError:
            raise
        except BaseException:
            await self._give_back(keys, member)
            raise

    async def pause(self, keys: QuotaKeys, seconds: float) -> None:
        """Hold new bookings of the quota, in every process, `seconds` from now."""
        await self.call(partial(self._store.pause, keys, seconds))

    async def call(self, call: Callable[[], Awaitable[_T]]) -> _T:
        """Run one Redis call within the timeout; failures become `LimiterUnavailableError`."""
        try:
            with anyio.fail_after(self._timeout):
                return await call()
        except (RedisError, OSError) as exc:  # TimeoutError is an OSError
            raise LimiterUnavailableError(
                f"Redis did not answer the rate limiter ({type(exc).__name__}: {exc})"
            ) from exc

    async def _give_back(self, keys: QuotaKeys, member: str) -> None:
        # Shielded: the task is being cancelled, and the units must not stay booked.
        with (
            anyio.CancelScope(shield=True),
            anyio.move_on_after(self._timeout),
            contextlib.suppress(RedisError, OSError),
        ):
            await self._store.give_back(keys, member)
