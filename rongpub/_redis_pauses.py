"""Telling sleeping reservations about a pause, in this process and in all the others.

A reservation already handed out stays valid in the shared log, so a sender that never
hears of a pause is still within the limit; hearing of it lets the sender hold off as the
server asked. This process's sleepers are woken directly; other processes hear through a
Redis pub/sub channel that the pause script publishes on. The listener is best effort: if
its connection drops it stops, and the next acquisition starts it again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import anyio
from redis.exceptions import RedisError

if TYPE_CHECKING:
    from redis.asyncio import Redis, RedisCluster

__all__ = ["PauseBoard", "PauseListener", "Sleeper"]


class Sleeper:
    """One task sleeping until its reservation's `instant` (Redis time, microseconds)."""

    __slots__ = ("instant", "scope")

    def __init__(self, instant: int) -> None:
        self.instant = instant
        self.scope = anyio.CancelScope()

    @property
    def woken(self) -> bool:
        """True when a pause cut the sleep short: the reservation must be booked again."""
        return self.scope.cancel_called


class PauseBoard:
    """The sleepers of this process, by the pause key of their quota."""

    def __init__(self) -> None:
        self._sleepers: defaultdict[str, set[Sleeper]] = defaultdict(set)

    def add(self, pause_key: str, sleeper: Sleeper) -> None:
        """Register a sleeper until `discard`."""
        self._sleepers[pause_key].add(sleeper)

    def discard(self, pause_key: str, sleeper: Sleeper) -> None:
        """Forget a sleeper; an empty quota entry is dropped."""
        sleepers = self._sleepers.get(pause_key)
        if sleepers is not None:
            sleepers.discard(sleeper)
            if not sleepers:
                del self._sleepers[pause_key]

    def pause(self, pause_key: str, until: int) -> None:
        """Wake every sleeper of the quota whose instant falls before `until` (microseconds)."""
        for sleeper in self._sleepers.get(pause_key, ()):
            if sleeper.instant < until:
                sleeper.scope.cancel()

    def notice(self, data: bytes | str) -> None:
        """Apply a published "<pause key> <until>" notice; malformed ones are ignored."""
        text = data.decode() if isinstance(data, bytes) else data
        pause_key, _, until = text.rpartition(" ")
        if pause_key and until.isdigit():
            self.pause(pause_key, int(until))


class PauseListener:
    """Feeds pause notices from `channel` to a board, from a background asyncio task."""

    def __init__(self, client: Redis | RedisCluster, channel: str, board: PauseBoard) -> None:
        self._client = client
        self._channel = channel
        self._board = board
        self._task: asyncio.Task[None] | None = None
        self._scope = anyio.CancelScope()

    def ensure_running(self) -> None:
        """Start listening unless already listening (call from inside the event loop)."""
        if self._channel and (self._task is None or self._task.done()):
            self._scope = anyio.CancelScope()
            self._task = asyncio.get_running_loop().create_task(self._listen(self._scope))

    async def _listen(self, scope: anyio.CancelScope) -> None:
        # An anyio scope, not Task.cancel(): Python 3.11's wait_for (inside redis-py's
        # send) can swallow a single native cancellation; the scope cancels until it exits.
        with scope:
            pubsub: Any = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
                    if message is not None:
                        self._board.notice(message["data"])
            except (RedisError, OSError):
                return  # best effort: the next acquisition listens again
            finally:
                with anyio.CancelScope(shield=True), contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()

    async def aclose(self) -> None:
        """Stop listening and wait for the task to finish."""
        task, self._task = self._task, None
        if task is not None:
            self._scope.cancel()
            await asyncio.wait({task})
