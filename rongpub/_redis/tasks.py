"""The background work of a `RedisLimiter` (the moves listener, reports of late writes,
epoch checks), run in one task group the limiter owns.

`async with limiter:` opens the group in the caller's task, so a task's error surfaces
there. A limiter used without it (as a client's `limiter=` argument, say) opens the group on
first use in one task of its own, which `aclose()` ends, raising a task's error if one
failed. Either way nothing outlives `aclose()`, and no task is started after it.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:
    from anyio.abc import TaskGroup
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

__all__ = ["Background", "Work"]

Work = Callable[[], Awaitable[object]]


class Background:
    """A task group for background work: the one `async with` opened, else one of its own."""

    def __init__(self) -> None:
        self._group: TaskGroup | None = None
        self._runner: asyncio.Task[None] | None = None  # holds the group when not entered
        self._queue: MemoryObjectSendStream[Work] | None = None  # work for the runner's group
        self._running = 0
        self._idle: anyio.Event | None = None
        self._closed = False

    async def __aenter__(self) -> Background:
        if self._runner is not None or self._group is not None:
            raise RuntimeError("enter the limiter before its first use, and once")
        group = anyio.create_task_group()
        await group.__aenter__()
        self._group = group
        return self

    async def __aexit__(self, *exc_info: object) -> bool | None:
        await self.aclose()
        group, self._group = self._group, None
        assert group is not None
        return await group.__aexit__(*exc_info)  # type: ignore[arg-type]

    def start_soon(self, work: Work) -> None:
        """Run `work()` in the group (`RuntimeError` once closed; a task that already failed
        is raised here)."""
        if self._closed:
            raise RuntimeError("the limiter is closed")
        if self._group is None:
            self._queue_for_runner(work)
        else:
            self._group.start_soon(self._run, work)
        self._running += 1

    async def aclose(self) -> None:
        """Wait for the work under way to end (stop endless work first), and start no more."""
        self._closed = True
        if self._runner is not None:
            assert self._queue is not None
            self._queue.close()
            await self._runner  # its error, if a task failed
        while self._running:
            self._idle = anyio.Event()
            await self._idle.wait()

    def _queue_for_runner(self, work: Work) -> None:
        if self._runner is None:
            self._queue, queued = anyio.create_memory_object_stream[Work](math.inf)
            self._runner = asyncio.get_running_loop().create_task(self._serve(queued))
        elif self._runner.done():
            self._runner.result()  # a task failed: its error
        assert self._queue is not None
        self._queue.send_nowait(work)

    async def _serve(self, queued: MemoryObjectReceiveStream[Work]) -> None:
        async with queued, anyio.create_task_group() as group:
            async for work in queued:
                group.start_soon(self._run, work)

    async def _run(self, work: Work) -> None:
        try:
            await work()
        finally:
            self._running -= 1
            if not self._running and self._idle is not None:
                self._idle.set()
