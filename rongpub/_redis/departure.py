"""The `Departure` of a send booked in Redis: it leaves on its instant, or falls back."""

from __future__ import annotations

from collections.abc import Callable

from .._exceptions import LimiterUnavailableError
from .._limit.protocol import Departure, Limiter, Quota
from .booking import Booker, Held
from .store import QuotaKeys

__all__ = ["RedisDeparture"]


class RedisDeparture:
    """Units booked in Redis for one send; `leaving()` lets them go on their instant.

    If Redis fails while the send books again, `outage(exc)` names the limiter to fall back
    to (or raises `exc`), and the send takes its units there instead.
    """

    __slots__ = ("_booker", "_fallback", "_held", "_keys", "_outage", "_quota", "_sent")

    def __init__(
        self,
        booker: Booker,
        keys: QuotaKeys,
        quota: Quota,
        held: Held,
        outage: Callable[[LimiterUnavailableError], Limiter],
    ) -> None:
        self._booker: Booker | None = booker
        self._keys = keys
        self._quota = quota
        self._held = held
        self._outage = outage
        self._fallback: Departure | None = None
        self._sent: tuple[Booker, Held] | None = None  # the booking the send left on

    async def leaving(self) -> None:
        """The request is about to be written: wait for its instant (see `Booker.depart`);
        later calls do nothing."""
        booker, self._booker = self._booker, None
        if booker is None:
            return
        try:
            self._sent = booker, await booker.depart(self._keys, self._quota, self._held)
        except LimiterUnavailableError as exc:
            fallback = self._outage(exc)
            self._fallback = await fallback.acquire(self._quota, self._held.cost)
            if self._fallback is not None:
                await self._fallback.leaving()

    def left(self) -> None:
        """The request has been written: a write later than the slack is reported to Redis
        (`Booker.written`); a fallback limiter's departure is told."""
        if self._sent is not None:
            booker, held = self._sent
            self._sent = None
            booker.written(self._keys, self._quota, held)
        if self._fallback is not None:
            self._fallback.left()
