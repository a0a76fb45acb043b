"""One acquisition against Redis: book, wake a little early, send on the booked instant.

A booking names an instant on Redis's clock (`RedisClock` maps it to this process's clock);
the task wakes `lead` seconds before it and `Departure.leaving()` holds the request until the
instant. Bookings sharing a window are `window + margin + slack` apart, so sends leaving within
`slack` of their instant keep every window within the limit; a later send, or a write reported
late by `Departure.left()`, is counted from then (`scripts/late.lua`), moving the bookings it
crowds (heard over pub/sub, `_redis.moves`). A cancelled holder gives its booking back in a
shielded call. A 429 pauses new bookings in every process; a new log epoch (Redis lost the
log) makes the process register what it holds (`_redis.ledger`) before booking again.

Why, the measurements and what was tried: docs/design/redis-booking.md."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

import anyio
from redis.exceptions import RedisError

from .._exceptions import LimiterUnavailableError
from .._limit.protocol import Quota
from .clock import Due, RedisClock
from .ledger import Entry, Ledgers
from .protocols import Crowding, Held, Store
from .store import Booking, QuotaKeys

__all__ = ["Booker", "Clock", "Crowding", "Held", "Sleep", "Store"]

#: Seconds kept between two bookings of one quota at most. Bookings are acted on by many
#: processes whose timers wake late independently, so they keep the in-process limiter's
#: earlier 5 ms spacing rather than its 1 ms.
MAX_INTERVAL = 0.005

_T = TypeVar("_T")
Sleep = Callable[[float], Awaitable[object]]
Clock = Callable[[], float]


class Booker:
    """Books, waits out, re-books and gives back reservations through a `Store`.

    `timeout`: seconds one Redis call may take. `interval`: least seconds between two bookings
    of a quota at different instants (`None`: as the in-process limiter); `share`: most
    bookings at one instant. `slack`: see `RedisStore.reserve`; also the most seconds a send
    may leave after its instant. `lead`: seconds a task wakes before its instant, once
    departures are reported (a client whose transport never calls `leaving()` would
    otherwise send that early). `crowding`: where moves of bookings crowded by a late send are
    heard (`None`: nowhere). `clock`, `sleep`: local monotonic seconds and how to wait (injectable
    for tests).
    """

    def __init__(
        self,
        store: Store,
        *,
        timeout: float,
        interval: float | None,
        share: int,
        slack: float,
        lead: float,
        crowding: Crowding | None,
        clock: Clock,
        sleep: Sleep,
    ) -> None:
        self._store = store
        self._crowding = crowding
        self._timeout = timeout
        self._interval = interval
        self._share = share
        self._slack = slack
        self._lead = lead
        self._clock = clock
        self._sleep = sleep
        self._redis_clock = RedisClock()
        self._reported = False  # whether any departure was reported: then wake `lead` early
        self._reports: set[asyncio.Task[None]] = set()
        self._ledgers = Ledgers(slack)  # this process's bookings, per quota
        self._epochs = self._ledgers.epochs
        self._quotas: dict[str, tuple[QuotaKeys, Quota]] = {}  # per moves channel
        #: Entries registered again after Redis lost the log or after an outage (for tests).
        self.reregistered = 0
        #: Sends that came too late for their booking and left at once, counted from then, or
        #: booked again (the quota was paused); sends written late (reported to Redis) and
        #: bookings late sends moved later; reads of Redis's clock (for benchmarks).
        self.moved = self.rebooked = self.late_writes = self.crowded = self.clock_reads = 0

    async def acquire(self, keys: QuotaKeys, quota: Quota, cost: int) -> Held:
        """Book `cost` units of `quota` and return `lead` seconds before they may leave (on
        their instant until a departure was reported); `LimiterUnavailableError` if Redis
        fails (its entries then expire with their window)."""
        held = await self._book(keys, quota, cost, self._lead)
        if self._lead and not self._reported:  # decided on waking: bookings lie seconds ahead
            await self._wait_for(keys, held)
        return held

    async def depart(self, keys: QuotaKeys, quota: Quota, held: Held) -> Held:
        """Return on `held`'s instant, or within `slack` after it, with the booking the send
        leaves on: if a late send moved the booking, on its new instant; a send later than
        the slack leaves at once, counted from now (`scripts/late.lua`), unless the quota is
        paused: then it books again and waits for its new instant. Cancelled, it gives the
        booking back."""
        self._reported = True
        while True:
            await self._wait_for(keys, held)
            moved = self._ledgers.of(keys, quota).take_move(held.member)
            if moved is None and self._crowding is not None:
                moved = self._crowding.take(held.member)
            if moved is not None:
                held = Held(held.member, held.cost, moved)
                self.crowded += 1
                continue
            if self._lateness(held) <= self._slack:
                self._ledgers.of(keys, quota).move(held.member, held.instant, left=True)
                return held
            now = await self._redate(keys, quota, held, written=None)
            if now is not None:
                self.moved += 1
                await self._wait_for(keys, now)  # never before its instant
                self._ledgers.of(keys, quota).move(held.member, now.instant, left=True)
                return now
            held = await self._book(keys, quota, held.cost, 0.0, late=held.member)
            self.rebooked += 1

    def written(self, keys: QuotaKeys, quota: Quota, held: Held) -> None:
        """`held`'s send has been written: if that was later than its instant plus `slack`,
        tell Redis (in a task of its own), which counts its units from then and moves the
        bookings that crowds later, in every process (`scripts/late.lua`)."""
        if self._lateness(held) <= self._slack:
            return
        self.late_writes += 1
        written = self._redis_clock.latest_instant(self._clock())
        report = self._report(keys, quota, held, written)
        task = asyncio.get_running_loop().create_task(report)
        self._reports.add(task)
        task.add_done_callback(self._reports.discard)

    async def aclose(self) -> None:
        """Finish telling Redis of late writes, then stop listening."""
        if self._reports:
            await asyncio.wait(self._reports)
        if self._crowding is not None:
            await self._crowding.aclose()

    async def pause(self, keys: QuotaKeys, seconds: float) -> None:
        """Hold new bookings of the quota, in every process, `seconds` from now."""
        await self.call(partial(self._store.pause, keys, seconds))

    async def call(self, call: Callable[[], Awaitable[_T]]) -> _T:
        """Run one Redis call within the timeout; failures become `LimiterUnavailableError`."""
        try:
            with anyio.fail_after(self._timeout):
                return await call()
        except (RedisError, OSError) as exc:  # TimeoutError is an OSError
            raise LimiterUnavailableError(
                f"Redis did not answer the rate limiter ({type(exc).__name__}: {exc})"
            ) from exc

    async def _report(self, keys: QuotaKeys, quota: Quota, held: Held, written: int) -> None:
        # The send is out: if Redis fails, there is nothing left to do for it.
        with contextlib.suppress(LimiterUnavailableError):
            await self._redate(keys, quota, held, written=written)

    async def _redate(
        self, keys: QuotaKeys, quota: Quota, held: Held, *, written: int | None
    ) -> Held | None:
        """Count `held`'s units from `written` (`None`: now, as it leaves late) and move the
        bookings that crowds; the booking it leaves on (`None`: paused, book again)."""
        redate = partial(
            self._store.redate, keys, quota, held.member, written=written, slack=self._slack
        )
        try:
            asked = self._clock()
            redated = await self.call(redate)
            self._redis_clock.observe(redated.now, asked, self._clock())
        except LimiterUnavailableError:
            raise
        except BaseException:
            if written is None:  # its units are not sent
                await self._give_back(keys, held.member)
            raise
        if redated.instant is None:
            return None
        self._ledgers.of(keys, quota).move(held.member, redated.instant)
        return Held(held.member, held.cost, redated.instant)

    def _lateness(self, held: Held) -> float:
        """Seconds since `held`'s instant, at most (by the latest mapping of its instant)."""
        return self._clock() - self._due(held).earliest

    async def _book(
        self, keys: QuotaKeys, quota: Quota, cost: int, early: float, late: str | None = None
    ) -> Held:
        """Book `cost` units (giving the `late` booking back in the same call; see
        `RedisStore.reserve`) and sleep until `early` seconds before their instant."""
        member = self._store.new_member(cost)
        try:
            if self._crowding is not None and not self._crowding.watching(keys.moved):
                self._quotas[keys.moved] = keys, quota
                await self.call(partial(self._crowding.watch, keys.moved))
            booking = await self._reserve(keys, quota, member, late=late)
            while booking.stale:  # Redis lost the log: count what this process holds first
                await self._register_again(keys, quota, booking.epoch)
                booking = await self._reserve(keys, quota, member, late=late)
            self._epochs[keys.log] = booking.epoch
            self._ledgers.of(keys, quota).book(member, cost, booking.instant, now=booking.now)
            held = Held(booking.member, cost, booking.instant)
            await self._sleep(max(0.0, self._due(held).latest - early - self._clock()))
        except LimiterUnavailableError:
            raise
        except BaseException:
            await self._give_back(keys, member, *([] if late is None else [late]))
            raise
        return held

    async def _wait_for(self, keys: QuotaKeys, held: Held) -> None:
        """Sleep until `held`'s instant (never before it); cancelled, give the booking back."""
        try:
            if self._redis_clock.spread > self._slack:
                await self._read_redis_clock(keys)
            await self._sleep(max(0.0, self._due(held).latest - self._clock()))
        except LimiterUnavailableError:
            raise
        except BaseException:
            await self._give_back(keys, held.member)
            raise

    async def _read_redis_clock(self, keys: QuotaKeys) -> None:
        """Ask Redis's clock once, to tighten the local mapping of instants."""
        asked = self._clock()
        redis_now = await self.call(partial(self._store.time, keys))
        self._redis_clock.observe(redis_now, asked, self._clock())
        self.clock_reads += 1

    def _due(self, held: Held) -> Due:
        return self._redis_clock.due(held.instant)

    async def _reserve(
        self, keys: QuotaKeys, quota: Quota, member: str, *, late: str | None = None, floor: int = 0
    ) -> Booking:
        """One reservation under the epoch last booked under (see `RedisStore.reserve`)."""
        interval = self._interval
        if interval is None:  # the in-process limiter's pacing
            interval = min(MAX_INTERVAL, (quota.window + quota.margin) / (2 * quota.limit))
        reserve = partial(
            self._store.reserve,
            keys,
            quota,
            member,
            interval=interval,
            share=self._share,
            slack=self._slack,
            late=late,
            epoch=self._epochs.get(keys.log, ""),
            floor=floor,
        )
        asked = self._clock()
        booking = await self.call(reserve)
        self._redis_clock.observe(booking.now, asked, self._clock())
        return booking

    async def _register_again(self, keys: QuotaKeys, quota: Quota, epoch: str) -> None:
        """The log's epoch is now `epoch` (Redis lost the log): register this process's
        bookings in it, once per epoch however many tasks noticed: those that left or leave
        now where they are, then those held for later where they fit, from their instants on
        (each send then waits for its new instant). Stops early if the epoch changes again."""
        async with self._ledgers.lock(keys):
            if self._epochs.get(keys.log) == epoch:
                return  # another task did it
            ledger = self._ledgers.of(keys, quota)
            due, ahead = ledger.split(self._redis_clock.latest_instant(self._clock()))
            if not (await self._restore(keys, quota, due, epoch))[1]:
                return
            self._epochs[keys.log] = epoch
            for entry in ahead:
                booking = await self._reserve(keys, quota, entry.member, floor=entry.instant)
                if booking.stale:
                    return
                if booking.instant != entry.instant:
                    ledger.placed(entry.member, booking.instant)
            self.reregistered += len(due) + len(ahead)

    async def _restore(
        self, keys: QuotaKeys, quota: Quota, due: list[Entry], epoch: str
    ) -> tuple[str, bool]:
        """Count `due` where they are, under `epoch`; the log's epoch and whether it was."""
        entries = [(entry.member, entry.instant) for entry in due]
        restore = partial(self._store.restore, keys, quota, entries, slack=self._slack, epoch=epoch)
        return await self.call(restore)

    def outstanding(self, keys: QuotaKeys, quota: Quota) -> list[tuple[float, int]]:
        """This process's bookings of `quota` that still share a window with now, held or
        left: (local instant in seconds, units), for a fallback limiter to count."""
        if self._redis_clock.spread == math.inf:  # Redis never answered: nothing was booked
            return []
        entries = self._ledgers.of(keys, quota).entries(
            self._redis_clock.latest_instant(self._clock())
        )
        return [(self._due(Held(e.member, e.cost, e.instant)).latest, e.cost) for e in entries]

    async def hand_over(
        self, keys: QuotaKeys, quota: Quota, sends: list[tuple[float, int]]
    ) -> None:
        """Redis answers again: count `sends` ((local instant in seconds, units) that a
        fallback let go or granted meanwhile) in the log, before anything new is booked."""
        ledger = self._ledgers.of(keys, quota)
        now = self._redis_clock.latest_instant(self._clock())
        for local, cost in sends:
            member = self._store.new_member(cost)
            ledger.book(member, cost, self._redis_clock.latest_instant(local), now=now)
            ledger.move(member, self._redis_clock.latest_instant(local), left=True)
        while True:
            epoch = self._epochs.get(keys.log, "")
            due, _ = ledger.split(self._redis_clock.latest_instant(self._clock()))
            fresh, registered = await self._restore(keys, quota, due, epoch)
            if registered:
                self._epochs[keys.log] = fresh
                self.reregistered += len(sends)
                return
            await self._register_again(keys, quota, fresh)

    def resubscribed(self, channel: str) -> None:
        """The moves listener lost Redis and is back: check the log's epoch (in a task of
        its own), so that a process booking nothing still registers its bookings again if
        Redis restarted empty."""
        keys, quota = self._quotas[channel]
        task = asyncio.get_running_loop().create_task(self._check_epoch(keys, quota))
        self._reports.add(task)
        task.add_done_callback(self._reports.discard)

    async def _check_epoch(self, keys: QuotaKeys, quota: Quota) -> None:
        epoch = self._epochs.get(keys.log)
        if epoch is None:
            return
        with contextlib.suppress(LimiterUnavailableError):  # the next booking checks again
            fresh, same = await self._restore(keys, quota, [], epoch)
            if not same:
                await self._register_again(keys, quota, fresh)

    async def probe(self, keys: QuotaKeys) -> None:
        """One real command (Redis's clock, which also tightens its mapping): returns only
        if Redis answered within the timeout."""
        await self._read_redis_clock(keys)

    async def _give_back(self, keys: QuotaKeys, *members: str) -> None:
        # Shielded: the task is being cancelled, and the units must not stay booked.
        self._ledgers.drop(keys, *members)
        with (
            anyio.CancelScope(shield=True),
            anyio.move_on_after(self._timeout),
            contextlib.suppress(RedisError, OSError),
        ):
            await self._store.give_back(keys, *members)
