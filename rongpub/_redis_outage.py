"""What the Redis limiter does while Redis cannot be reached: fail closed or fall back.

Failing closed (no fallback) raises `LimiterUnavailableError` on every acquisition. With a
fallback, the first failure warns once and the fallback serves alone for `retry_interval`
seconds; then Redis is tried again, and the first success ends the outage. The host's
monotonic clock only times these retries; it never decides what may be sent.
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import Literal

from ._exceptions import InvalidRequestError, LimiterUnavailableError
from ._limiter import Limiter

__all__ = ["Fallback", "Outage"]

#: A limiter to fall back to, "local" for the in-process sliding-window limiter, or None.
Fallback = Limiter | Literal["local"] | None

_logger = logging.getLogger("rongpub.redis")


def _resolve(fallback: Fallback) -> Limiter | None:
    if not isinstance(fallback, str):
        return fallback
    if fallback != "local":
        raise InvalidRequestError("fallback", f"{fallback!r}; pass a Limiter, 'local' or None")
    from ._sliding_log import SlidingWindowLimiter

    return SlidingWindowLimiter()


class Outage:
    """Whether Redis is considered down, and the limiter that serves meanwhile."""

    def __init__(self, fallback: Fallback, retry_interval: float) -> None:
        self.fallback = _resolve(fallback)
        self._retry_interval = retry_interval
        self._down_until: float | None = None  # monotonic seconds; None while Redis answers

    def serving(self) -> Limiter | None:
        """The fallback while it serves alone; None when Redis should be asked."""
        if self._down_until is not None and time.monotonic() < self._down_until:
            return self.fallback
        return None

    def begin(self, exc: LimiterUnavailableError) -> Limiter:
        """Redis failed: the fallback to use now, or `exc` raised again without one."""
        if self.fallback is None:
            raise exc
        if self._down_until is None:
            warnings.warn(
                f"{exc}; rate limiting falls back to {type(self.fallback).__name__} in this "
                "process: every process now keeps the quota alone, so together they may "
                "exceed it until Redis answers again",
                RuntimeWarning,
                stacklevel=3,
            )
        self._down_until = time.monotonic() + self._retry_interval
        return self.fallback

    def end(self) -> None:
        """Redis answered: the shared quota is in use again."""
        if self._down_until is not None:
            self._down_until = None
            _logger.warning("Redis answers again: the shared quota is back in use")
