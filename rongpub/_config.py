"""Small frozen configuration values: rate limits and the retry policy."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from ._constants import (
    BROADCAST_RATE_LIMIT,
    CHATROOM_RATE_LIMIT,
    DEFAULT_BULK_SHARE,
    DEFAULT_RATE_LIMITED_RETRIES,
    DEFAULT_WINDOW_MARGIN,
    GROUP_RATE_LIMIT,
    MAX_RETRY_AFTER,
    PRIVATE_RATE_LIMIT,
    SYSTEM_RATE_LIMIT,
)
from ._exceptions import InvalidRequestError

__all__ = ["DEFAULT", "Default", "RateLimits", "RetryPolicy", "or_default"]


class Default(enum.Enum):
    """The marker of a call's keyword left to the client's default (`max_wait`, `deadline`)."""

    DEFAULT = "DEFAULT"


DEFAULT: Final = Default.DEFAULT


def or_default(value: float | Default | None, default: float | None) -> float | None:
    """A call's `max_wait` / `deadline`, or the client's where the call left it."""
    return default if isinstance(value, Default) else value


@dataclass(frozen=True, kw_only=True)
class RateLimits:
    """Per-app quotas the client keeps to, in targets per window (1 s unless stated).

    `group`: group-publish targets per second (a send to 3 groups counts 3).
    `chatroom`: chatroom-publish targets per second.
    `private`: private-message recipients per 60 s (the documents: "per minute").
    `system`: system-message recipients per second.
    `broadcast`: chatroom-broadcast requests per second.
    `margin`: seconds added to each window for jitter on the way to the server.
    `bulk_share`: the least share of each quota kept for "bulk" sends (fan-outs) while
    "interactive" ones (publish calls) also wait; default 0.1, so a flood of interactive
    sends slows a fan-out to a tenth of the quota but never stops it (0 turns that off).
    """

    group: int = GROUP_RATE_LIMIT
    chatroom: int = CHATROOM_RATE_LIMIT
    private: int = PRIVATE_RATE_LIMIT
    system: int = SYSTEM_RATE_LIMIT
    broadcast: int = BROADCAST_RATE_LIMIT
    margin: float = DEFAULT_WINDOW_MARGIN
    bulk_share: float = DEFAULT_BULK_SHARE

    def __post_init__(self) -> None:
        for name in ("group", "chatroom", "private", "system", "broadcast"):
            if getattr(self, name) < 1:
                raise InvalidRequestError(f"rate_limits.{name}", "must be at least 1 per window")
        if not 0 <= self.margin < 1:
            raise InvalidRequestError("rate_limits.margin", "must be in [0, 1) seconds")
        if not 0 <= self.bulk_share <= 1:
            raise InvalidRequestError("rate_limits.bulk_share", "must be in [0, 1]")


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """What the client retries on its own.

    `rate_limited`: how many times a 429/1008 answer is waited out and retried.
    `unknown`: how many times an ambiguous failure (timeout after sending, reset, 5xx) is
    retried. Default 0: a retry may deliver the message twice.
    `max_retry_after`: seconds; a larger server Retry-After is capped to this.
    """

    rate_limited: int = DEFAULT_RATE_LIMITED_RETRIES
    unknown: int = 0
    max_retry_after: float = MAX_RETRY_AFTER

    def __post_init__(self) -> None:
        if self.rate_limited < 0 or self.unknown < 0:
            raise InvalidRequestError("retry", "retry counts must not be negative")
        if self.max_retry_after <= 0:
            raise InvalidRequestError("retry.max_retry_after", "must be positive")
