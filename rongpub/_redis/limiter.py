"""`RedisLimiter`, the limiter behind `rongpub.redis` (whose docstring explains it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Final, TypeVar

import anyio

try:
    from redis.asyncio import Redis, RedisCluster
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "rongpub.redis needs the redis package: pip install 'rongpub[redis]'"
    ) from exc

from .._exceptions import InvalidRequestError, LimiterUnavailableError
from .._limit.protocol import Departure, Lane, LegacyLimiter, Quota
from .._limit.sliding_log import SlidingWindowLimiter
from .booker import Booker, Clock, Sleep
from .booking import SharedQuota
from .departure import RedisDeparture
from .loop import on_asyncio
from .moves import Moves
from .outage import Fallback, Outage, Route, resolve
from .stats import RedisStats
from .store import RedisStore, quota_keys
from .tasks import Background

__all__ = ["RedisLimiter"]

_T = TypeVar("_T")

#: Seconds one Redis call may take before Redis counts as unavailable (redis-py's socket
#: default; shorter timeouts failed healthy calls on a busy 2-core machine).
DEFAULT_REDIS_TIMEOUT: Final = 5.0
#: Seconds a fallback limiter serves alone after Redis failed, before Redis is tried again.
DEFAULT_RETRY_INTERVAL: Final = 1.0
#: Seconds a send may leave after its booked instant (later ones are counted from then), added to
#: `window + margin` between bookings that share a window (see `_redis.booking`).
DEFAULT_SLACK: Final = 0.01
#: Most bookings of a quota that may share one instant (they leave together). With every
#: booking at an instant of its own, units that one window's run of sends leaves over can
#: rarely be used later, since the windows ending at the next run's first bookings hold them
#: too; a few sharing an instant keeps them usable (`scripts/reserve.lua`). Measured with
#: `python benchmarks/shared_quota.py` (8 processes x 20 tasks, 30 s): quota used, group /
#: chatroom, 95.5% / 96.3% with `--share 1`, 95.7-97.0% / 96.8-97.1% with eight in two runs.
#: Each send is built and has its connection before its instant (`lead`), so those that
#: leave together only write their bytes then.
DEFAULT_SHARE: Final = 8
#: Seconds a task wakes before its booked instant, to sign the request and get a connection.
DEFAULT_LEAD: Final = 0.06
#: Seconds ahead of its instant that a queued bulk booking may still be moved later by an
#: interactive one: its process must hear of the move (pub/sub, ~1 ms on a LAN) before the
#: instant. An interactive booking waits at most about this long behind bulk ones.
DEFAULT_NOTICE: Final = 0.03
#: Prefix of every key the limiter uses.
DEFAULT_NAMESPACE: Final = "rongpub"


class RedisLimiter:
    """A `Limiter` whose quotas live in Redis, shared by all processes that use it.

    `client`: a `redis.asyncio.Redis` or `RedisCluster` (redis-py 5+); it stays the caller's.
    `fallback`: what serves while Redis is unreachable, with a warning once per outage:
    a `Limiter`, or "local" for the in-process sliding-window limiter, which starts from this
    process's bookings in the window and hands its sends back to Redis when it answers (the
    quota is then kept per process: N processes may send N times it); `None` (default)
    fails closed with `LimiterUnavailableError`. See docs/redis-faults.md.
    `timeout`: seconds one Redis call may take (a hung Redis is an outage after it).
    `retry_interval`: seconds after a failure during which Redis is not asked; then one
    acquisition probes it. `namespace`: prefix of every key.
    `interval`: least seconds between two bookings of a quota at different instants (default
    `None`: half the mean interval per unit, at most 5 ms; 0 = no pacing). `share`: most
    bookings that may share one instant (see `DEFAULT_SHARE`).
    `slack`: seconds a send may leave after its booked instant, added to `window + margin`
    between bookings (the quota used is at most `window / (window + margin + slack)`); a send
    later than that leaves at once, counted from then (later bookings move to make room).
    `notice`: seconds ahead of its instant that a queued bulk booking may still be moved
    later by an interactive one (see `DEFAULT_NOTICE`).
    `lead`: seconds a task wakes before its instant to prepare the request, which then waits
    in `leaving()` for the instant (only once the client has called `leaving()`: a limiter
    used without departures gets its units at the instant, unchecked for lateness).
    `clock`, `sleep`: monotonic seconds and how to wait (for tests; default the event loop's).

    Background work (listening for moved bookings, reporting late writes) runs in a task
    group the limiter owns: `async with limiter:` opens it in the caller's task; used
    without it, the group opens on first use in a task of its own. `aclose()` (or leaving
    the `async with`) stops it, raising a background task's error. `stats` counts what
    happened (`RedisStats`).
    """

    def __init__(
        self,
        client: Redis | RedisCluster,
        *,
        fallback: Fallback = None,
        timeout: float = DEFAULT_REDIS_TIMEOUT,
        retry_interval: float = DEFAULT_RETRY_INTERVAL,
        namespace: str = DEFAULT_NAMESPACE,
        interval: float | None = None,
        share: int = DEFAULT_SHARE,
        slack: float = DEFAULT_SLACK,
        lead: float = DEFAULT_LEAD,
        notice: float = DEFAULT_NOTICE,
        clock: Clock = anyio.current_time,
        sleep: Sleep = anyio.sleep,
    ) -> None:
        if interval is not None and interval < 0:
            raise InvalidRequestError("interval", "must not be negative")
        if share < 1:
            raise InvalidRequestError("share", "must be at least 1")
        if not 0 <= slack < 1:
            raise InvalidRequestError("slack", "must be in [0, 1) seconds")
        if not 0 <= lead < 1:
            raise InvalidRequestError("lead", "must be in [0, 1) seconds")
        if not 0 <= notice < 1:
            raise InvalidRequestError("notice", "must be in [0, 1) seconds")
        store = RedisStore(client)
        self.stats = RedisStats()
        self._tasks = Background()
        moves = Moves(
            client, prefix=store.prefix, timeout=timeout, tasks=self._tasks, stats=self.stats
        )
        self._booker = Booker(
            store,
            timeout=timeout,
            interval=interval,
            share=share,
            slack=slack,
            lead=lead,
            crowding=moves,
            clock=clock,
            sleep=sleep,
            notice=notice,
            tasks=self._tasks,
            stats=self.stats,
        )
        moves.on_resubscribed = self._booker.resubscribed
        self._booker.fallen_back = self._fallen_back
        self._outage = Outage(resolve(fallback, partial(_local, clock, sleep)), retry_interval)
        self._namespace = namespace
        self._owned_client: Redis | None = None
        self._closed = False

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        fallback: Fallback = None,
        timeout: float = DEFAULT_REDIS_TIMEOUT,
        retry_interval: float = DEFAULT_RETRY_INTERVAL,
        namespace: str = DEFAULT_NAMESPACE,
        interval: float | None = None,
        share: int = DEFAULT_SHARE,
        slack: float = DEFAULT_SLACK,
        lead: float = DEFAULT_LEAD,
        notice: float = DEFAULT_NOTICE,
        clock: Clock = anyio.current_time,
        sleep: Sleep = anyio.sleep,
        **redis_options: Any,
    ) -> RedisLimiter:
        """Connect to `url` (`redis://`, `rediss://`, `unix://`); `aclose()` closes it.

        Options as for the constructor; the rest go to `redis.asyncio.Redis.from_url`.
        Socket timeouts default to `timeout`, and a failed command is retried once at
        once (reservations are idempotent), so an outage is noticed within seconds.
        """
        redis_options.setdefault("socket_timeout", timeout)
        redis_options.setdefault("socket_connect_timeout", timeout)
        redis_options.setdefault("retry", Retry(NoBackoff(), 1))
        client = Redis.from_url(url, **redis_options)
        limiter = cls(
            client,
            fallback=fallback,
            timeout=timeout,
            retry_interval=retry_interval,
            namespace=namespace,
            interval=interval,
            share=share,
            slack=slack,
            lead=lead,
            notice=notice,
            clock=clock,
            sleep=sleep,
        )
        limiter._owned_client = client
        return limiter

    async def __aenter__(self) -> RedisLimiter:
        """Open the task group that runs the limiter's background work (optional: without
        it the group opens on first use, in a task of its own that `aclose()` ends)."""
        _require_asyncio()
        await self._tasks.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> bool | None:
        try:
            await self.aclose()
        finally:
            handled = await self._tasks.__aexit__(*exc_info)
        return handled

    async def acquire(
        self,
        quota: Quota,
        cost: int,
        *,
        lane: Lane = "interactive",
        max_wait: float | None = None,
    ) -> Departure | None:
        """Wait until `lead` seconds before `cost` units of `quota` may leave, booked in
        Redis; the returned `Departure` waits out the rest (see `Limiter`).

        An "interactive" acquisition goes before every waiting "bulk" one of the quota, in
        every process, bulk keeping `quota.bulk_share` while both wait (`scripts/reserve.lua`).
        `max_wait`: seconds; if the units' instant lies further ahead, raises
        `QuotaWaitTooLongError` at once, nothing booked (not forwarded to a fallback)."""
        _require_asyncio()
        if not 1 <= cost <= quota.limit:
            raise InvalidRequestError("cost", f"must be between 1 and {quota.limit}")
        if lane not in ("interactive", "bulk"):
            raise InvalidRequestError("lane", f"{lane!r}; pass 'interactive' or 'bulk'")
        if max_wait is not None and not max_wait >= 0:
            raise InvalidRequestError("max_wait", "must be at least 0 seconds, or None")
        return await self._either(
            quota,
            lambda shared: self._acquire_shared(shared, cost, lane, max_wait),
            lambda limiter: limiter.acquire(quota, cost),
        )

    async def pause(self, quota: Quota, seconds: float | None) -> None:
        """Hold every sender of `quota`, in every process, `seconds` from now by Redis's
        clock (`None`: one window plus margin)."""
        _require_asyncio()
        length = quota.window + quota.margin if seconds is None else seconds
        await self._either(
            quota,
            lambda shared: shared.pause(length),
            lambda limiter: limiter.pause(quota, seconds),
        )

    async def aclose(self) -> None:
        """Stop listening for moved bookings, finish reporting late writes (a background
        task's error is raised here), close the fallback and a client made by `from_url`.

        Outside asyncio nothing was ever opened, so there is nothing to close."""
        if not on_asyncio() or self._closed:
            return
        self._closed = True
        try:
            await self._booker.aclose()
        finally:
            if self._outage.fallback is not None:
                await self._outage.fallback.aclose()
            if self._owned_client is not None:
                await self._owned_client.aclose()

    async def _either(
        self,
        quota: Quota,
        shared: Callable[[SharedQuota], Awaitable[_T]],
        local: Callable[[LegacyLimiter], Awaitable[_T]],
    ) -> _T:
        """The outage boundary: run `shared` on `quota`'s bookings in Redis, or `local` on
        the fallback while Redis is down or once it fails (`LimiterUnavailableError`
        without a fallback). After the retry interval one caller probes Redis first."""
        route = self._outage.route()
        if route is Route.DOWN:
            return await local(self._serving())
        try:
            if route is Route.PROBE:
                await self._recover(quota)
            return await shared(self._shared(quota))
        except LimiterUnavailableError as exc:
            fallback = self._begin(exc)
        finally:
            if route is Route.PROBE:
                self._outage.probed()
        return await local(fallback)

    async def _acquire_shared(
        self, shared: SharedQuota, cost: int, lane: Lane, max_wait: float | None
    ) -> RedisDeparture:
        held = await shared.acquire(cost, lane, max_wait)
        return RedisDeparture(shared, held, self._begin)

    def _fallen_back(self) -> bool:
        return self._outage.down and self._outage.fallback is not None

    def _serving(self) -> LegacyLimiter:
        """The fallback while Redis is down (`LimiterUnavailableError` without one); a
        local one reports its grants to Redis if Redis answered again meanwhile."""
        fallback = self._outage.serving()
        if isinstance(fallback, SlidingWindowLimiter):
            return _Interim(fallback, self)
        return fallback

    def _begin(self, exc: LimiterUnavailableError) -> LegacyLimiter:
        """Redis failed: the fallback (or `exc` raised). A local fallback starts from this
        process's bookings that still share a window with now, held or left."""
        first = not self._outage.down
        fallback = self._outage.begin(exc)
        if isinstance(fallback, SlidingWindowLimiter):
            if first:
                for shared in self._booker.quotas():
                    fallback.count(shared.quota, shared.outstanding())
            return _Interim(fallback, self)
        return fallback

    async def _recover(self, quota: Quota) -> None:
        """Redis may be back: ask it one real command; if it answers, register in it what a
        local fallback let go meanwhile, then end the outage (`LimiterUnavailableError` if
        any call fails: the outage goes on)."""
        await self._shared(quota).probe()
        local = self._outage.fallback
        if isinstance(local, SlidingWindowLimiter):
            for shared in self._booker.quotas():
                await shared.hand_over(local.recent(shared.quota))
        self._outage.end()

    def _shared(self, quota: Quota) -> SharedQuota:
        return self._booker.quota(quota, partial(quota_keys, self._namespace))


class _Interim:
    """The local fallback while Redis is down. A grant made once Redis answers again (the
    task waited in the local queue) is dropped unused, and the units are booked in Redis
    instead: the local log knows nothing of what Redis booked since."""

    def __init__(self, local: SlidingWindowLimiter, shared: RedisLimiter) -> None:
        self._local = local
        self._shared = shared

    async def acquire(self, quota: Quota, cost: int) -> Departure | None:
        departure = await self._local.acquire(quota, cost)
        if await self._shared._outage.settled():
            return departure
        return await self._shared.acquire(quota, cost)

    async def pause(self, quota: Quota, seconds: float | None) -> None:
        await self._local.pause(quota, seconds)

    async def aclose(self) -> None:
        """The local limiter is closed by its `RedisLimiter`."""


def _local(clock: Clock, sleep: Sleep) -> SlidingWindowLimiter:
    """The in-process limiter for `fallback="local"`, on the limiter's clock (its own
    defaults unless a test injected a clock)."""
    if clock is anyio.current_time and sleep is anyio.sleep:
        return SlidingWindowLimiter()

    async def sleeping(seconds: float) -> None:
        await sleep(seconds)

    return SlidingWindowLimiter(clock=clock, sleep=sleeping)


def _require_asyncio() -> None:
    if not on_asyncio():
        raise LimiterUnavailableError(
            "RedisLimiter runs on asyncio only: redis-py's asyncio client cannot run under "
            "trio (or outside an asyncio event loop); use the in-process limiter there"
        )
