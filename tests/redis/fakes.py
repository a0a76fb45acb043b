"""Test doubles for the Redis limiter tests: a recording sleep and a recording limiter."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable

import anyio

from rongpub import Quota

__all__ = ["RecordingLimiter", "Sleeps", "new_quota", "until"]


def new_quota(limit: int, *, margin: float = 0.0, window: float = 1.0) -> Quota:
    """A quota under an app key no other test uses."""
    scope = f"app-{uuid.uuid4().hex}"
    return Quota(scope=scope, api="chatroom", limit=limit, margin=margin, window=window)


async def until(condition: Callable[[], bool | Awaitable[bool]]) -> None:
    """Return once `condition()` holds: state that another connection changes (a message
    heard, a key written), so there is no event to wait on; fails after 10 seconds."""
    with anyio.fail_after(10):
        while True:
            holds = condition()
            if await holds if inspect.isawaitable(holds) else holds:
                return
            await anyio.sleep(0.001)


class Sleeps:
    """A `sleep` that records the delays it is asked for instead of waiting them out.

    With `block=True` it never returns (until cancelled), as a long real sleep would;
    `asked` is set each time it is called.
    """

    def __init__(self, *, block: bool = False) -> None:
        self.delays: list[float] = []
        self.block = block
        self.asked = anyio.Event()

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.asked.set()
        self.asked = anyio.Event()
        if self.block:
            await anyio.sleep_forever()
        await anyio.lowlevel.checkpoint()

    async def wait_for(self, count: int) -> None:
        """Return once `count` sleeps have been asked for."""
        while len(self.delays) < count:
            await self.asked.wait()


class RecordingLimiter:
    """A `Limiter` that grants at once and records what it was asked."""

    def __init__(self) -> None:
        self.acquired: list[tuple[Quota, int]] = []
        self.paused: list[tuple[Quota, float | None]] = []
        self.closed = False

    async def acquire(self, quota: Quota, cost: int) -> None:
        self.acquired.append((quota, cost))
        await anyio.lowlevel.checkpoint()

    async def pause(self, quota: Quota, seconds: float | None) -> None:
        self.paused.append((quota, seconds))

    async def aclose(self) -> None:
        self.closed = True
