"""Taking a user's limiter written before lanes: `acquire(quota, cost)` without keywords.

The client calls `adapt(limiter)` once; a limiter whose `acquire` accepts `lane` and
`max_wait` (or `**kwargs`) is used as it is, any other is wrapped so that both keywords are
dropped: its sends all wait alike, and only the client's deadline bounds their wait.
"""

from __future__ import annotations

import inspect

from .protocol import Departure, Lane, LegacyLimiter, Limiter, Quota

__all__ = ["adapt"]


def adapt(limiter: Limiter | LegacyLimiter) -> Limiter:
    """`limiter` itself when its `acquire` takes `lane` and `max_wait`, else a wrapper."""
    try:
        parameters = inspect.signature(limiter.acquire).parameters.values()
    except (TypeError, ValueError):  # no signature to read (a C callable): assume current
        return limiter  # type: ignore[return-value]
    names = {p.name for p in parameters}
    if {"lane", "max_wait"} <= names or any(p.kind is p.VAR_KEYWORD for p in parameters):
        return limiter  # type: ignore[return-value]
    return _WithoutLanes(limiter)


class _WithoutLanes:
    """A limiter with the old `acquire(quota, cost)`; `lane` and `max_wait` are dropped."""

    def __init__(self, limiter: LegacyLimiter) -> None:
        self.wrapped = limiter

    async def acquire(
        self,
        quota: Quota,
        cost: int,
        *,
        lane: Lane = "interactive",
        max_wait: float | None = None,
    ) -> Departure | None:
        return await self.wrapped.acquire(quota, cost)

    async def pause(self, quota: Quota, seconds: float | None) -> None:
        await self.wrapped.pause(quota, seconds)

    async def aclose(self) -> None:
        await self.wrapped.aclose()

    def __repr__(self) -> str:
        return f"adapt({self.wrapped!r})"
