"""What the Redis limiter does while Redis cannot be reached: fail closed or fall back.

A Redis call that fails or takes longer than the timeout (a hung or stopped server) begins an
outage, with one warning. For `retry_interval` seconds nothing is sent to Redis: failing
closed (no fallback) raises `LimiterUnavailableError` at once, and a fallback serves alone.
Then one acquisition probes Redis with a real command while the others keep to the fallback
(or fail); only a probe that Redis answers, and the hand-over of what the fallback let go
(`RedisLimiter`), ends the outage, logged once. The host's monotonic clock only times these
retries; it never decides what may be sent.
"""

from __future__ import annotations

import enum
import logging
import time
import warnings
from collections.abc import Callable
from typing import Literal

import anyio

from .._exceptions import InvalidRequestError, LimiterUnavailableError
from .._limit.protocol import Limiter

__all__ = ["Fallback", "Outage", "Route"]

#: A limiter to fall back to, "local" for the in-process sliding-window limiter, or None.
Fallback = Limiter | Literal["local"] | None

_logger = logging.getLogger("rongpub.redis")


class Route(enum.Enum):
    """Where one acquisition goes."""

    SHARED = "shared"  # Redis answers: book there
    PROBE = "probe"  # Redis was down and may be tried again: this caller tries it
    DOWN = "down"  # Redis is down: the fallback, or fail at once


class Outage:
    """Whether Redis is considered down, and the limiter that serves meanwhile.

    `clock`: monotonic seconds timing the retries (for tests).
    """

    def __init__(
        self,
        fallback: Limiter | None,
        retry_interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fallback = fallback
        self._retry_interval = retry_interval
        self._clock = clock
        self._down_until: float | None = None  # monotonic seconds; None while Redis answers
        self._probing = False
        self._probed = anyio.Event()
        self._error: LimiterUnavailableError | None = None

    @property
    def down(self) -> bool:
        """Whether an outage has begun and not ended."""
        return self._down_until is not None

    @property
    def probing(self) -> bool:
        """Whether a caller is trying Redis again right now."""
        return self._probing

    def route(self) -> Route:
        """Where the next acquisition goes; `PROBE` to one caller at a time, once the retry
        interval has passed (it must call `probed()` when done)."""
        if self._down_until is None:
            return Route.SHARED
        if self._probing or self._clock() < self._down_until:
            return Route.DOWN
        self._probing = True
        self._probed = anyio.Event()
        return Route.PROBE

    def probed(self) -> None:
        """The probe is over, whatever its result."""
        self._probing = False
        self._probed.set()

    async def settled(self) -> bool:
        """Wait for a probe under way to end; whether Redis is down."""
        if self._probing:
            await self._probed.wait()
        return self.down

    def serving(self) -> Limiter:
        """The fallback while Redis is down; without one, `LimiterUnavailableError` at once."""
        if self.fallback is None:
            raise LimiterUnavailableError(
                f"{self._error}; Redis is not asked again for up to {self._retry_interval} s"
            )
        return self.fallback

    def begin(self, exc: LimiterUnavailableError) -> Limiter:
        """Redis failed: the fallback to use now, or `exc` raised again without one. The first
        failure of an outage warns (with a fallback) or logs (failing closed) once."""
        first = self._down_until is None
        self._down_until = self._clock() + self._retry_interval
        self._error = exc
        if self.fallback is None:
            if first:
                _logger.warning("%s; the rate limiter fails closed until Redis answers", exc)
            raise exc
        if first:
            _logger.warning("%s; falling back to %s", exc, type(self.fallback).__name__)
            warnings.warn(
                f"{exc}; rate limiting falls back to {type(self.fallback).__name__} in this "
                "process: every process now keeps the quota alone, so together they may "
                "exceed it until Redis answers again",
                RuntimeWarning,
                stacklevel=3,
            )
        return self.fallback

    def end(self) -> None:
        """Redis answered a real command: the shared quota is in use again (logged once)."""
        if self._down_until is not None:
            self._down_until = None
            self._error = None
            _logger.warning("Redis answers again: the shared quota is back in use")


def resolve(fallback: Fallback, make_local: Callable[[], Limiter]) -> Limiter | None:
    """The fallback limiter: `make_local()` for "local"."""
    if not isinstance(fallback, str):
        return fallback
    if fallback != "local":
        raise InvalidRequestError("fallback", f"{fallback!r}; pass a Limiter, 'local' or None")
    return make_local()
