"""Bookings of this process that a late send in any process crowded, heard over pub/sub.

A send written later than its instant plus `slack` is re-dated in the log
(`_redis_late.lua`), which names the bookings whose windows that leaves over the limit and
publishes their members on the quota's channel. Each `RedisLimiter` listens on the channels
of the quotas it books (one connection, subscribed before its first booking of a quota), and
of the members named keeps those it still holds; `Booker.depart` books those again before
their instant. A named booking lies at least a window after the late send, so the message
has about a second to arrive. Listening costs no Redis command per send: the listener reads
its connection, and Redis pushes. If the connection drops, redis-py subscribes again on
reconnecting; messages published meanwhile are missed, and a missed booking leaves on its
instant, as it would without the listener (the server may then answer 429, which pauses the
quota and is retried).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any, Final

import anyio

if TYPE_CHECKING:
    from redis.asyncio import Redis, RedisCluster

__all__ = ["Revocations"]

logger = logging.getLogger("rongpub.redis")

#: Seconds the listener waits on its connection per read (no command is sent meanwhile).
_READ: Final = 1.0
#: Seconds the listener waits after its connection failed before reading again.
_RETRY: Final = 1.0
#: Members named and not yet asked about that are kept at most (a named booking whose send
#: left before the message came is never asked about; the oldest are dropped).
_KEPT: Final = 10_000


class Revocations:
    """Listens for the members a late send crowded and keeps those this process holds."""

    def __init__(self, client: Redis | RedisCluster, *, prefix: str, timeout: float) -> None:
        self._client = client
        self._mine = prefix  # this process's members start with it (`RedisStore.new_member`)
        self._timeout = timeout
        self._pubsub: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._channels: dict[str, anyio.Event] = {}  # set once Redis confirmed the subscription
        self._named: dict[str, None] = {}  # in the order heard
        #: Members named for this process (for benchmarks).
        self.heard = 0

    async def watch(self, channel: str) -> None:
        """Subscribe to `channel` (once) and wait, up to the timeout, until Redis confirms it,
        so that every message published after this returns is heard."""
        if self.watching(channel):
            return
        subscribed = self._channels.get(channel)
        if subscribed is None:
            subscribed = self._channels[channel] = anyio.Event()
            try:
                if self._pubsub is None:
                    self._pubsub = self._client.pubsub()
                await self._pubsub.subscribe(channel)
            except (AttributeError, NotImplementedError):  # an old redis-py's cluster client
                logger.warning(
                    "rongpub: this Redis client has no pub/sub; bookings crowded by a late "
                    "send in another process are not booked again"
                )
                subscribed.set()
                return
            except BaseException:
                del self._channels[channel]  # the next booking tries again
                raise
            if self._listener is None:
                self._listener = asyncio.get_running_loop().create_task(self._listen())
        with anyio.move_on_after(self._timeout) as unconfirmed:
            await subscribed.wait()
        if unconfirmed.cancelled_caught:
            logger.warning("rongpub: Redis did not confirm the subscription to %s", channel)
            subscribed.set()  # book anyway; later bookings do not wait for it again

    def watching(self, channel: str) -> bool:
        """Whether `watch(channel)` has returned before (then it has nothing left to do)."""
        subscribed = self._channels.get(channel)
        return subscribed is not None and subscribed.is_set()

    def take(self, member: str) -> bool:
        """Whether this process's `member` was named (asked once: then forgotten)."""
        return self._named.pop(member, False) is None

    async def aclose(self) -> None:
        """Stop listening and close the connection."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
            self._pubsub = None
        self._channels.clear()

    async def _listen(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=_READ)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the connection failed: redis-py reconnects and resubscribes
                logger.debug("rongpub: the revocation listener lost Redis (%r)", exc)
                await asyncio.sleep(_RETRY)
                continue
            if message is not None:
                self._hear(message)

    def _hear(self, message: dict[str, Any]) -> None:
        channel = _text(message["channel"])
        if message["type"] == "subscribe":
            if channel in self._channels:
                self._channels[channel].set()
        elif message["type"] == "message":
            for member in _text(message["data"]).split():
                if member.startswith(self._mine):
                    self._named[member] = None
                    self.heard += 1
            while len(self._named) > _KEPT:
                del self._named[next(iter(self._named))]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
