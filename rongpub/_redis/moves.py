"""Bookings of this process that a late send in any process moved later, heard over pub/sub.

A send written later than its instant plus `slack` is re-dated in the log
(`scripts/late.lua`), which moves the bookings it crowds later, in order, and publishes their
members with their new instants on the quota's channel. Each `RedisLimiter` listens on the
channels of the quotas it books (one connection, subscribed before its first booking of a
quota) and keeps the moves of its own members; `Booker.depart` then waits for the new instant
instead of the old one. A moved booking lay at least a window after the late send, so the
message has about a second to arrive. Listening costs no Redis command per send: the listener
reads its connection, and Redis pushes. If the connection drops, redis-py subscribes again on
reconnecting; messages published meanwhile are missed, and a booking whose move was missed
leaves on its old instant, as it would without the listener (the server may then answer 429,
which pauses the quota and is retried). A subscription confirmed again after a lost connection
is reported (`on_resubscribed`): Redis may have restarted empty, and a process that books
nothing would otherwise not notice it while its booked sends leave.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import anyio

from .stats import RedisStats
from .tasks import Background

if TYPE_CHECKING:
    from redis.asyncio import Redis, RedisCluster

__all__ = ["Moves"]

logger = logging.getLogger("rongpub.redis")

#: Seconds the listener waits on its connection per read (no command is sent meanwhile).
_READ: Final = 1.0
#: Seconds the listener waits after its connection failed before reading again.
_RETRY: Final = 1.0
#: Moves not yet asked about that are kept at most (a moved booking whose send left before
#: the message came is never asked about; the oldest are dropped).
_KEPT: Final = 10_000


class Moves:
    """Listens for the bookings a late send moved and keeps the new instants of this
    process's."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        *,
        prefix: str,
        timeout: float,
        tasks: Background | None = None,
        stats: RedisStats | None = None,
    ) -> None:
        self._client = client
        self._mine = prefix  # this process's members start with it (`RedisStore.new_member`)
        self._timeout = timeout
        self._own_tasks = tasks is None
        self._tasks = Background() if tasks is None else tasks  # where the listener runs
        self.stats = RedisStats() if stats is None else stats  # counts `heard`
        self._pubsub: Any = None
        self._listener: tuple[anyio.CancelScope, anyio.Event] | None = None  # stop it, ended
        self._channels: dict[str, anyio.Event] = {}  # set once Redis confirmed the subscription
        self._moved: dict[str, int] = {}  # member: new instant, in the order heard
        #: Called with a channel subscribed again after the connection was lost: Redis may
        #: have restarted empty meanwhile (`Booker.resubscribed` checks the log's epoch).
        self.on_resubscribed: Callable[[str], object] | None = None

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
                    "rongpub: this Redis client has no pub/sub; bookings moved by a late "
                    "send in another process leave on their old instant"
                )
                subscribed.set()
                return
            except BaseException:
                del self._channels[channel]  # the next booking tries again
                raise
            if self._listener is None:
                self._listener = anyio.CancelScope(), anyio.Event()
                self._tasks.start_soon(self._listen)
        with anyio.move_on_after(self._timeout) as unconfirmed:
            await subscribed.wait()
        if unconfirmed.cancelled_caught:
            logger.warning("rongpub: Redis did not confirm the subscription to %s", channel)
            subscribed.set()  # book anyway; later bookings do not wait for it again

    def watching(self, channel: str) -> bool:
        """Whether `watch(channel)` has returned before (then it has nothing left to do)."""
        subscribed = self._channels.get(channel)
        return subscribed is not None and subscribed.is_set()

    def take(self, member: str) -> int | None:
        """The instant this process's `member` was moved to, if it was (asked once: then
        forgotten)."""
        return self._moved.pop(member, None)

    async def aclose(self) -> None:
        """Stop listening and close the connection (and the task group, if it is its own)."""
        if self._listener is not None:
            stop, ended = self._listener
            stop.cancel()
            await ended.wait()
            self._listener = None
        if self._own_tasks:
            await self._tasks.aclose()
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
            self._pubsub = None
        self._channels.clear()

    async def _listen(self) -> None:
        assert self._listener is not None
        stop, ended = self._listener
        try:
            with stop:
                while True:
                    await self._read()
        finally:
            ended.set()

    async def _read(self) -> None:
        try:
            message = await self._pubsub.get_message(timeout=_READ)
        except Exception as exc:  # the connection failed: redis-py reconnects and resubscribes
            logger.debug("rongpub: the listener for moved bookings lost Redis (%r)", exc)
            await anyio.sleep(_RETRY)
            return
        if message is not None:
            self._hear(message)

    def _hear(self, message: dict[str, Any]) -> None:
        channel = _text(message["channel"])
        if message["type"] == "subscribe":
            subscribed = self._channels.get(channel)
            if subscribed is not None:
                if subscribed.is_set() and self.on_resubscribed is not None:
                    self.on_resubscribed(channel)
                subscribed.set()
        elif message["type"] == "message":
            words = _text(message["data"]).split()
            for member, instant in zip(words[::2], words[1::2], strict=False):
                if member.startswith(self._mine):
                    self._moved.pop(member, None)  # moved again: now the newest
                    self._moved[member] = int(instant)
                    self.stats.heard += 1
            while len(self._moved) > _KEPT:
                del self._moved[next(iter(self._moved))]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
