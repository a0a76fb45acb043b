"""`AioLimiterAdapter`, behind `rongpub.aiolimiter` (whose docstring explains it)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .._exceptions import InvalidRequestError, QuotaWaitTooLongError
from .protocol import Lane, Quota

if TYPE_CHECKING:
    from aiolimiter import AsyncLimiter

__all__ = ["AioLimiterAdapter"]

_INSTALL = "AioLimiterAdapter needs aiolimiter: pip install 'rongpub[aiolimiter]'"


def _aiolimiter() -> type[AsyncLimiter]:
    try:
        from aiolimiter import AsyncLimiter
    except ImportError as exc:
        raise ImportError(_INSTALL) from exc
    return AsyncLimiter


def _loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            "AioLimiterAdapter works under asyncio only (aiolimiter is asyncio-only); "
            "under trio use rongpub's default SlidingWindowLimiter"
        ) from None


class AioLimiterAdapter:
    """The `Limiter` protocol over `aiolimiter.AsyncLimiter`s.

    `limiters`: an `AsyncLimiter` per API name (`"group"`, `"chatroom"`), shared by every
    app key; an API without one gets its own `AsyncLimiter(quota.limit, quota.window)` per
    app key on first use. A send to N targets acquires N. `pause` (after a 429) holds every
    sender of that app key and API for the given seconds, or one window + margin.
    No lanes: aiolimiter has one queue, so `lane` is accepted and ignored (a fan-out's
    sends wait beside interactive ones). `max_wait`: refused at once when a pause alone is
    longer, or when it is 0 and the bucket has no capacity (`has_capacity`); otherwise
    the wait is given up after `max_wait` seconds (aiolimiter cannot tell its length).
    """

    def __init__(self, limiters: Mapping[str, AsyncLimiter] | None = None) -> None:
        self._async_limiter = _aiolimiter()
        self._given = dict(limiters or {})
        self._made: dict[tuple[str, str], AsyncLimiter] = {}
        self._paused_until: dict[tuple[str, str], float] = {}

    async def acquire(
        self,
        quota: Quota,
        cost: int,
        *,
        lane: Lane = "interactive",
        max_wait: float | None = None,
    ) -> None:
        """Wait out any pause, then `await AsyncLimiter.acquire(cost)` (see the class for
        `lane` and `max_wait`)."""
        loop = _loop()
        limiter = self._limiter(quota)
        if not 1 <= cost <= min(quota.limit, limiter.max_rate):
            raise InvalidRequestError(
                "cost", f"must be between 1 and {min(quota.limit, limiter.max_rate)}, not {cost}"
            )
        key = (quota.scope, quota.api)
        started = loop.time()
        if max_wait is not None:
            paused = self._paused_until.get(key, -math.inf) - started
            if paused > max_wait or (max_wait == 0 and not limiter.has_capacity(cost)):
                raise QuotaWaitTooLongError(api=quota.api, wait=max(paused, 0.0), max_wait=max_wait)
        # A loop, not an Event: another 429 may extend the pause while we sleep.
        while (delay := self._paused_until.get(key, -math.inf) - loop.time()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)
        if max_wait is None:
            await limiter.acquire(cost)
            return
        try:
            await asyncio.wait_for(
                limiter.acquire(cost), max(0.0, started + max_wait - loop.time())
            )
        except asyncio.TimeoutError:
            raise QuotaWaitTooLongError(api=quota.api, wait=max_wait, max_wait=max_wait) from None

    async def pause(self, quota: Quota, seconds: float | None) -> None:
        """Hold senders of `quota` for `seconds` from now (`None`: one window + margin)."""
        loop = _loop()
        hold = quota.window + quota.margin if seconds is None else max(0.0, seconds)
        key = (quota.scope, quota.api)
        self._paused_until[key] = max(self._paused_until.get(key, -math.inf), loop.time() + hold)
        await asyncio.sleep(0)

    async def aclose(self) -> None:
        """Nothing to release; the `AsyncLimiter`s stay usable by their owner."""
        _loop()
        await asyncio.sleep(0)

    def _limiter(self, quota: Quota) -> AsyncLimiter:
        given = self._given.get(quota.api)
        if given is not None:
            return given
        key = (quota.scope, quota.api)
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = self._async_limiter(quota.limit, quota.window)
        return made
