"""The contract between the client and a rate limiter, so backends can be swapped.

The client calls `acquire(quota, cost, lane=..., max_wait=...)` as late as it can (just
before the request is handed to the connection pool) and treats the return as "these
`cost` units leave now"; if the limiter returns a `Departure`, the client also reports the
instant the bytes really go out. When the server still answers 429/1008 it calls
`pause(quota, seconds)` so that every sender of that quota holds off. The in-process
sliding-log limiter, the Redis limiter and the aiolimiter adapter implement it; so can a
user's own class (one written before lanes, `LegacyLimiter`, too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

__all__ = ["Departure", "Lane", "LegacyLimiter", "Limiter", "Quota"]

#: Who waits for quota: a user's request ("interactive"), which goes before every waiting
#: "bulk" acquisition of the same quota (a fan-out), which keeps what interactive ones leave.
Lane = Literal["interactive", "bulk"]


@dataclass(frozen=True)
class Quota:
    """One quota: `limit` units per `window` seconds for (`scope`, `api`).

    `scope` is the app key (RongCloud counts per app); `api` names the endpoint ("group",
    "chatroom", "private", "system", "broadcast"); `window`: seconds (60 for "private");
    `margin` is seconds added to the window to absorb client-to-server jitter.
    `bulk_share`: the least share of `limit` kept for the bulk lane while both lanes wait.
    """

    scope: str
    api: str
    limit: int
    margin: float = 0.0
    window: float = 1.0
    bulk_share: float = 0.0


class Departure(Protocol):
    """Handle on units just acquired, for a limiter that can count them from the true instant."""

    async def leaving(self) -> None:
        """The request's first byte is about to be written (its connection is ready).

        The bytes go out when it returns; it may wait first, e.g. when the units it was
        granted no longer hold by now and must be taken again."""
        ...

    def left(self) -> None:
        """The whole request has been written (called only by transports that report it,
        after `leaving()`): count the units from now if that is later."""
        ...


@runtime_checkable
class Limiter(Protocol):
    """A rate limiter the client can share between any number of tasks."""

    async def acquire(
        self,
        quota: Quota,
        cost: int,
        *,
        lane: Lane = "interactive",
        max_wait: float | None = None,
    ) -> Departure | None:
        """Wait until `cost` units of `quota` may leave now, and count them as sent.

        `1 <= cost <= quota.limit`. A task cancelled while waiting must take no units.
        `lane`: a waiting "interactive" acquisition goes before every waiting "bulk" one of
        `quota`; bulk keeps what interactive leaves, and at least `quota.bulk_share` of the
        limit while both wait (a limiter without lanes may treat both alike).
        `max_wait`: seconds; when the wait is known to be longer, raise
        `QuotaWaitTooLongError` at once, taking nothing (a limiter that cannot tell may
        ignore it: the client's deadline still bounds the call).
        May return a `Departure`: the client then awaits `leaving()` just before the bytes
        go out (after a new connection was opened, say), so later sends are spaced from then.
        A class whose `acquire(quota, cost)` takes neither keyword still works: the client
        wraps it once (`adapt`) and drops them.
        """
        ...

    async def pause(self, quota: Quota, seconds: float | None) -> None:
        """The server answered 429: hold every sender of `quota` for `seconds` from now
        (`None`: until the limiter's own next window)."""
        ...

    async def aclose(self) -> None:
        """Release resources (connections); the limiter is not used afterwards."""
        ...


class LegacyLimiter(Protocol):
    """A limiter written before lanes: `acquire(quota, cost)` takes no keywords. The client
    still takes one (`_limit.compat.adapt`): its sends all wait alike, unbounded but by the
    call's deadline. Every `Limiter` is one too (the redis fallback only needs this)."""

    async def acquire(self, quota: Quota, cost: int) -> Departure | None: ...

    async def pause(self, quota: Quota, seconds: float | None) -> None: ...

    async def aclose(self) -> None: ...
