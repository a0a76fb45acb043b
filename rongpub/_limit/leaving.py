"""Telling the fan-out the instant a request leaves, through the limiter's `Departure` hook.

The transport calls `Departure.leaving()` as late as it can: from httpcore's trace hook as
the request's headers are about to be written (the connection is open), else just before
the request is handed to the transport. The fan-out journals a request as `sending` there,
so a run killed while the request waited for quota or a connection leaves it unsent, not
unknown.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from .protocol import Departure

__all__ = ["Announced"]


class Announced:
    """A `Departure` that calls `on_leaving()` once the wrapped one (if any) lets the bytes
    go, just before they are written."""

    def __init__(
        self, departure: Departure | None, on_leaving: Callable[[], Awaitable[None]]
    ) -> None:
        self._departure = departure
        self._on_leaving = on_leaving

    async def leaving(self) -> None:
        """The first byte is about to be written: let the limiter wait, then announce it."""
        if self._departure is not None:
            await self._departure.leaving()
        await self._on_leaving()

    def left(self) -> None:
        """The whole request was written: the limiter's concern only."""
        if self._departure is not None:
            self._departure.left()
