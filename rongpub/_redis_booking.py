"""One acquisition against Redis: book, sleep once, send.

A booking names an instant on Redis's clock; the caller sleeps the delay Redis gave and
returns. A task cancelled while it holds a booking gives it back in a shielded call before
the cancellation propagates, so a cancelled waiter leaves no lasting over-throttling.

What a booking does not do:

- Follow a later pause. A 429 sets the quota's pause-until in Redis, which every new
  booking in every process respects; bookings already handed out keep their instant (each
  fits the shared log). Recalling them was tried, over pub/sub: each pause then cost one
  call per sleeping task in every process, left holes in the log that tasks already booked
  could not use, and in the shared-quota benchmark the steady share of the quota used fell
  from about 88% to about 62% for the same 429 count.
- Re-book after waking late. Bookings made after this one were placed against its instant,
  so moving it would leave a hole, and when a busy machine makes every task late at once,
  every task would fall to the back of the queue (tried: the quota went nearly unused).
  Lateness up to the margin is what the margin absorbs; more can crowd the next window.
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

_T = TypeVar("_T")
Sleep = Callable[[float], Awaitable[object]]


class Booker:
    """Books, waits out and gives back reservations through a `RedisStore`.

    `timeout`: seconds one Redis call may take. `spacing`, `slack`: see `RedisStore.reserve`.
    `sleep`: how to wait, in seconds (injectable for tests).
    """

    def __init__(
        self, store: RedisStore, *, timeout: float, spacing: float, slack: float, sleep: Sleep
    ) -> None:
        self._store = store
        self._timeout = timeout
        self._spacing = spacing
        self._slack = slack
        self._sleep = sleep

    async def acquire(self, keys: QuotaKeys, quota: Quota, cost: int) -> None:
        """Return when `cost` units of `quota` may leave; `LimiterUnavailableError` if Redis
        fails (its entries then expire with their window)."""
        member = self._store.new_member(cost)
        reserve = partial(
            self._store.reserve, keys, quota, member, spacing=self._spacing, slack=self._slack
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
