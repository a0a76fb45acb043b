"""The `Departure` of a send booked in Redis: it leaves on its instant, or falls back."""

from __future__ import annotations

from collections.abc import Callable

from .._exceptions import LimiterUnavailableError
from .._limit.protocol import Departure, LegacyLimiter
from .booking import SharedQuota
from .protocols import Held

__all__ = ["RedisDeparture"]


class RedisDeparture:
    """Units booked in Redis for one send; `leaving()` lets them go on their instant.

    If Redis fails while the send books again, `fall_back(exc)` names the limiter to take
    the units from instead (or raises `exc`: the limiter's outage boundary).
    """

    __slots__ = ("_fall_back", "_fallback", "_held", "_quota", "_sent")

    def __init__(
        self,
        quota: SharedQuota,
        held: Held,
        fall_back: Callable[[LimiterUnavailableError], LegacyLimiter],
    ) -> None:
        self._quota: SharedQuota | None = quota
        self._held = held
        self._fall_back = fall_back
        self._fallback: Departure | None = None
        self._sent: tuple[SharedQuota, Held] | None = None  # the booking the send left on

    async def leaving(self) -> None:
        """The request is about to be written: wait for its instant (see
        `SharedQuota.depart`); later calls do nothing."""
        quota, self._quota = self._quota, None
        if quota is None:
            return
        try:
            self._sent = quota, await quota.depart(self._held)
        except LimiterUnavailableError as exc:
            self._fallback = await self._fall_back(exc).acquire(quota.quota, self._held.cost)
            if self._fallback is not None:
                await self._fallback.leaving()

    def left(self) -> None:
        """The request has been written: a write later than the slack is reported to Redis
        (`SharedQuota.written`); a fallback limiter's departure is told."""
        if self._sent is not None:
            quota, held = self._sent
            self._sent = None
            quota.written(held)
        if self._fallback is not None:
            self._fallback.left()
