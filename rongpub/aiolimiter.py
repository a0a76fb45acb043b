"""Use an existing `aiolimiter.AsyncLimiter` as rongpub's limiter (asyncio only).

Install the extra: `pip install 'rongpub[aiolimiter]'`. Then
`RongCloud(..., limiter=AioLimiterAdapter({"group": my_group_limiter}))`.

Know its worst case before choosing it. `AsyncLimiter(max_rate, time_period)` is a leaky
bucket of capacity `max_rate` that drains at `max_rate / time_period`: it admits up to
capacity + rate units in one 1-second window, nearly twice the quota. Measured on this project's
machine, `AsyncLimiter(20, 1)` let 39 units through one 1 s window, and it serves waiters
smallest-first, so an `acquire(3)` queued first waited behind 29 later `acquire(1)`s.
`benchmarks/quota_fidelity.py` measures it against a strict server beside rongpub's own
`SlidingWindowLimiter`, which never exceeds the limit in any window and keeps arrival order.
This adapter exists for code that already shares an `AsyncLimiter` with other work.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ._exceptions import InvalidRequestError
from ._limiter import Quota

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
    """

    def __init__(self, limiters: Mapping[str, AsyncLimiter] | None = None) -> None:
        self._async_limiter = _aiolimiter()
        self._given = dict(limiters or {})
        self._made: dict[tuple[str, str], AsyncLimiter] = {}
        self._paused_until: dict[tuple[str, str], float] = {}

    async def acquire(self, quota: Quota, cost: int) -> None:
        """Wait out any pause, then `await AsyncLimiter.acquire(cost)`."""
        loop = _loop()
        limiter = self._limiter(quota)
        if not 1 <= cost <= min(quota.limit, limiter.max_rate):
            raise InvalidRequestError(
                "cost", f"must be between 1 and {min(quota.limit, limiter.max_rate)}, not {cost}"
            )
        key = (quota.scope, quota.api)
        # A loop, not an Event: another 429 may extend the pause while we sleep.
        while (delay := self._paused_until.get(key, -math.inf) - loop.time()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)
        await limiter.acquire(cost)

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
