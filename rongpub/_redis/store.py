"""The Redis side of the shared limiter: key names and the five calls it makes.

One quota lives in three keys that share a hash tag, so a Redis Cluster keeps them in one
slot and a Lua script may touch them all:

- `<namespace>:{<api>:<app key>}:log`   sorted set of reservations (instants in microseconds)
- `<namespace>:{<api>:<app key>}:pause` pause-until instant after a server 429
- `<namespace>:{<api>:<app key>}:epoch` when the log began (microseconds): a new value means
  Redis lost the log (restarted empty), and the bookings still held must be registered again

The first two carry TTLs set by the scripts, so an idle quota leaves only its epoch behind (a
few bytes, kept so that a lost log is told apart from an idle one). The pub/sub
channel `<namespace>:{<api>:<app key>}:moved` carries the new instants of bookings that a late
send crowded (`_redis.moves`).
"""

from __future__ import annotations

import itertools
import math
import secrets
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import anyio

from .._limit.protocol import Lane, Quota

if TYPE_CHECKING:
    from redis.asyncio import Redis, RedisCluster

__all__ = ["Booking", "QuotaKeys", "Redated", "RedisStore", "quota_keys"]

_MICROS = 1_000_000


@dataclass(frozen=True)
class QuotaKeys:
    """The Redis keys of one quota."""

    log: str
    pause: str
    moved: str  # a pub/sub channel, not a key
    epoch: str


def quota_keys(namespace: str, quota: Quota) -> QuotaKeys:
    """Key names for `quota`; the api leads the hash tag so the tag is never empty."""
    base = f"{namespace}:{{{quota.api}:{quota.scope}}}"
    return QuotaKeys(
        log=f"{base}:log", pause=f"{base}:pause", moved=f"{base}:moved", epoch=f"{base}:epoch"
    )


@dataclass(frozen=True)
class Booking:
    """A reservation: `member` in the log, leaving at `instant` (Redis time, microseconds).

    `now` is Redis's clock when it booked (microseconds); `delay` is seconds from then until
    the units may leave. `epoch`: the log's epoch; `stale`: it was not the one the caller
    booked under, so nothing was booked (see `RedisStore.reserve`). `refused`: the instant
    lay further than the caller's `max_wait`, so nothing was booked.
    """

    member: str
    instant: int
    delay: float
    now: int
    epoch: str = ""
    stale: bool = False
    refused: bool = False

    @property
    def cost(self) -> int:
        """The units booked (carried in the member's suffix)."""
        return int(self.member.rsplit(":", 1)[1])


@dataclass(frozen=True)
class Redated:
    """A late send counted from when it left: at `instant` (Redis time, microseconds; `None`:
    paused, not counted), with `moved` later bookings moved; `now`: Redis's clock then."""

    moved: int
    instant: int | None
    now: int


def _width(quota: Quota, slack: float) -> int:
    """Microseconds kept between bookings that share a window: window + margin + slack."""
    return round((quota.window + quota.margin + slack) * _MICROS)


def _script(name: str) -> str:
    return (
        resources.files(__package__).joinpath("scripts").joinpath(name).read_text(encoding="utf-8")
    )


_RESERVE = _script("reserve.lua")
_RESTORE = _script("restore.lua")
_PAUSE = _script("pause.lua")
_LATE = _script("late.lua")
# A script rather than the TIME command, so that a cluster asks the node holding the quota.
_TIME = "local t = redis.call('TIME') return {t[1], t[2]}"


class RedisStore:
    """Runs the limiter's scripts on one Redis client (plain or cluster, asyncio)."""

    def __init__(self, client: Redis | RedisCluster) -> None:
        self.client = client
        self._reserve = client.register_script(_RESERVE)
        self._pause = client.register_script(_PAUSE)
        self._late = client.register_script(_LATE)
        self._restore = client.register_script(_RESTORE)
        self._time = client.register_script(_TIME)
        self._loading = anyio.Lock()
        self._loaded = False
        # Members are unique per reservation: a per-store random prefix and a counter.
        self.prefix = secrets.token_hex(6) + "."
        self._counter = itertools.count()

    def new_member(self, cost: int, lane: Lane = "interactive") -> str:
        """A log member that names one reservation and carries its units and lane (a bulk
        one's id ends in "b": ids are digits otherwise)."""
        return f"{self.prefix}{next(self._counter)}{'b' if lane == 'bulk' else ''}:{cost}"

    async def reserve(
        self,
        keys: QuotaKeys,
        quota: Quota,
        member: str,
        *,
        interval: float = 0.0,
        share: int = 1,
        slack: float = 0.0,
        late: str | None = None,
        epoch: str = "",
        floor: int = 0,
        notice: float = 0.0,
        max_wait: float | None = None,
    ) -> Booking:
        """Book `member`'s units (its suffix) where they first fit (`scripts/reserve.lua`).

        `interval`: least seconds between two reservations at different instants (pacing);
        `share`: most reservations at one instant. `slack`: seconds added to `window + margin`
        between reservations that share a window. `late`: a reservation whose send came too
        late for its instant (while the quota was paused), given back in the same call.
        `epoch`: the log's epoch the caller booked under (`""`: none yet); if the log's is
        another, nothing is booked and the answer is `stale`. `floor`: no instant before it
        (Redis time, microseconds; to register a held booking again after the log was lost).
        An interactive member goes before the bulk ones due more than `notice` seconds from
        now, moving them later (published on `keys.moved`), while interactive units hold at
        most `limit - ceil(quota.bulk_share * limit)` of a window. `max_wait`: seconds; an
        instant further away books nothing (`refused`). Idempotent per member: a retried call
        returns the reservation already made.
        """
        cost = int(member.rsplit(":", 1)[1])
        width = _width(quota, slack)
        gap = round(interval * _MICROS)
        cap = quota.limit - math.ceil(quota.bulk_share * quota.limit)
        most = -1 if max_wait is None else round(max_wait * _MICROS)
        args: list[int | str] = [quota.limit, cost, width, member, gap, share, epoch, floor]
        args += [round(notice * _MICROS), cap, most, keys.moved]
        if late is not None:
            args.append(late)
        await self._load()
        reply: Any = await self._reserve(keys=[keys.log, keys.pause, keys.epoch], args=args)
        delay, instant = int(reply[0]), int(reply[1])
        return Booking(
            member=member,
            instant=instant,
            delay=delay / _MICROS,
            now=instant - delay,
            epoch=_text(reply[2]),
            stale=not int(reply[3]),
            refused=bool(int(reply[3])) and not int(reply[4]),
        )

    async def restore(
        self,
        keys: QuotaKeys,
        quota: Quota,
        entries: list[tuple[str, int]],
        *,
        slack: float,
        epoch: str = "",
    ) -> tuple[str, bool]:
        """Count `entries` ((member, instant in Redis microseconds): sends that left or leave
        now) at their instants unless the log holds them (`scripts/restore.lua`). Returns the
        log's epoch and whether they were registered (False: the epoch was not `epoch`)."""
        args: list[int | str] = [_width(quota, slack), epoch]
        for member, instant in entries:
            args += [member, instant]
        reply: Any = await self._restore(keys=[keys.log, keys.epoch, keys.pause], args=args)
        return _text(reply[1]), bool(int(reply[2]))

    async def pause(self, keys: QuotaKeys, seconds: float) -> float:
        """Set the quota's pause-until to at least now + `seconds` (Redis time).

        Returns the seconds the pause now lasts.
        """
        reply: Any = await self._pause(keys=[keys.pause], args=[round(seconds * _MICROS)])
        return int(reply[0]) / _MICROS

    async def redate(
        self, keys: QuotaKeys, quota: Quota, member: str, *, written: int | None, slack: float
    ) -> Redated:
        """`member`'s send was written at `written` (Redis time, microseconds, at the latest),
        or is about to leave (`None`), after its instant plus `slack`: count its units from
        then, move the bookings that crowds later and publish their new instants
        (`scripts/late.lua`). A send about to leave while the quota is paused changes nothing
        (`instant` is `None`): it books again."""
        args: list[int | str] = [quota.limit, _width(quota, slack), member, keys.moved]
        args += ["now" if written is None else written, round(slack * _MICROS)]
        reply: Any = await self._late(keys=[keys.log, keys.pause], args=args)
        moved, instant, now = (int(x) for x in reply)
        if moved < 0:
            return Redated(moved=0, instant=None, now=now)
        return Redated(moved=moved, instant=instant, now=now)

    async def time(self, keys: QuotaKeys) -> int:
        """Redis's clock (microseconds) on the node that holds the quota."""
        reply: Any = await self._time(keys=[keys.log])
        return int(reply[0]) * _MICROS + int(reply[1])

    async def _load(self) -> None:
        # Once per store, so that tasks starting together do not all meet NOSCRIPT and load
        # the script each (redis-py reloads it by itself after a Redis restart).
        if not self._loaded:
            async with self._loading:
                if not self._loaded:
                    await self.client.script_load(_RESERVE)
                    self._loaded = True

    async def give_back(self, keys: QuotaKeys, *members: str) -> None:
        """Remove reservations whose units will not be sent."""
        await self.client.zrem(keys.log, *members)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
