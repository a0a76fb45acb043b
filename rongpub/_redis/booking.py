"""One quota's bookings in Redis: book, wake a little early, send on the booked instant.

A booking names an instant on Redis's clock (`RedisClock` maps it to this process's clock);
the task wakes `lead` seconds before it and `Departure.leaving()` holds the request until the
instant. Bookings sharing a window are `window + margin + slack` apart, so sends leaving within
`slack` of their instant keep every window within the limit; a later send, or a write reported
late by `Departure.left()`, is counted from then (`scripts/late.lua`), moving the bookings it
crowds (heard over pub/sub, `_redis.moves`). A wait that ends early (cancelled, timed out)
gives its booking back in a shielded call. A 429 pauses new bookings in every process; a new
log epoch (Redis lost the log) makes the process register what it holds (`_redis.ledger`)
before booking again.

Why, the measurements and what was tried: docs/design/redis-booking.md."""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from operator import attrgetter
from typing import TYPE_CHECKING, TypeVar

import anyio
from redis.exceptions import RedisError

from .._exceptions import LimiterUnavailableError, QuotaWaitTooLongError
from .._limit.protocol import Lane, Quota
from .clock import Due
from .ledger import Entry, Ledger
from .protocols import Held
from .store import Booking, QuotaKeys

if TYPE_CHECKING:
    from .booker import Booker

__all__ = ["MAX_INTERVAL", "SharedQuota"]

_T = TypeVar("_T")

#: Seconds kept between two bookings of one quota at most. Bookings are acted on by many
#: processes whose timers wake late independently, so they keep the in-process limiter's
#: earlier 5 ms spacing rather than its 1 ms.
MAX_INTERVAL = 0.005


class SharedQuota:
    """The bookings of one quota that this process makes, holds and gives back.

    Keeps the quota's `Ledger` (what Redis must count of this process's) and the log epoch
    it booked under; everything else it shares with the other quotas through `Booker`.
    """

    def __init__(self, booker: Booker, quota: Quota, keys: QuotaKeys) -> None:
        self.quota = quota
        self.keys = keys
        self.booker = booker
        self._store = booker.store
        self._ledger = Ledger(round((quota.window + quota.margin + booker.slack) * 1_000_000))
        self._epoch = ""  # the log's epoch last booked under ("": none yet)
        self._registering: anyio.Lock | None = None  # held while registering bookings again

    async def acquire(
        self, cost: int, lane: Lane = "interactive", max_wait: float | None = None
    ) -> Held:
        """Book `cost` units in `lane` and return `lead` seconds before they may leave (on
        their instant until a departure was reported). `QuotaWaitTooLongError` at once,
        nothing booked, if their instant lies over `max_wait` seconds ahead;
        `LimiterUnavailableError` if Redis fails (its entries then expire with their
        window)."""
        held = await self._book(cost, self.booker.lead, lane=lane, max_wait=max_wait)
        if self.booker.lead and not self.booker.reported:  # bookings lie seconds ahead
            await self._wait_for(held)
        return held

    async def depart(self, held: Held) -> Held:
        """Return on `held`'s instant, or within `slack` after it, with the booking the send
        leaves on: if a late send moved the booking, on its new instant; a send later than
        the slack leaves at once, counted from now (`scripts/late.lua`), unless the quota is
        paused: then it books again and waits for its new instant. Cancelled, it gives the
        booking back."""
        booker, stats = self.booker, self.booker.stats
        booker.reported = True
        while True:
            await self._wait_for(held)
            moved = self._ledger.take_move(held.member)
            if moved is None and booker.crowding is not None:
                moved = booker.crowding.take(held.member)
            if moved is not None:
                held = Held(held.member, held.cost, moved)
                stats.crowded += 1
                continue
            if self._lateness(held) <= booker.slack:
                self._ledger.move(held.member, held.instant, left=True)
                return held
            now = await self._redate(held, written=None)
            booker.answered()
            if now is not None:
                stats.moved += 1
                await self._wait_for(now)  # never before its instant
                self._ledger.move(held.member, now.instant, left=True)
                return now
            held = await self._book(held.cost, 0.0, late=held.member, lane=held.lane)
            stats.rebooked += 1

    def written(self, held: Held) -> None:
        """`held`'s send has been written: if that was later than its instant plus `slack`,
        tell Redis (in the background), which counts its units from then and moves the
        bookings that crowds later, in every process (`scripts/late.lua`)."""
        if self._lateness(held) <= self.booker.slack:
            return
        self.booker.stats.late_writes += 1
        written = self.booker.redis_clock.latest_instant(self.booker.clock())
        self.booker.tasks.start_soon(partial(self._report, held, written))

    async def pause(self, seconds: float) -> None:
        """Hold new bookings of the quota, in every process, `seconds` from now."""
        await self.booker.call(partial(self._store.pause, self.keys, seconds))

    async def probe(self) -> None:
        """One real command (Redis's clock, which also tightens its mapping): returns only
        if Redis answered within the timeout."""
        await self._read_redis_clock()

    async def _report(self, held: Held, written: int) -> None:
        # The send is out: if Redis fails, there is nothing left to do for it.
        with contextlib.suppress(LimiterUnavailableError):
            await self._redate(held, written=written)

    async def _redate(self, held: Held, *, written: int | None) -> Held | None:
        """Count `held`'s units from `written` (`None`: now, as it leaves late) and move the
        bookings that crowds; the booking it leaves on (`None`: paused, book again)."""
        redate = partial(
            self._store.redate,
            self.keys,
            self.quota,
            held.member,
            written=written,
            slack=self.booker.slack,
        )
        async with self._or_give_back(*([held.member] if written is None else [])):
            redated = await self._observed(
                redate, attrgetter("now")
            )  # unsent (`None`), its units go back
        if redated.instant is None:
            return None
        self._ledger.move(held.member, redated.instant)
        return Held(held.member, held.cost, redated.instant)

    def _lateness(self, held: Held) -> float:
        """Seconds since `held`'s instant, at most (by the latest mapping of its instant)."""
        return self.booker.clock() - self._due(held).earliest

    async def _book(
        self,
        cost: int,
        early: float,
        late: str | None = None,
        *,
        lane: Lane = "interactive",
        max_wait: float | None = None,
    ) -> Held:
        """Book `cost` units (giving the `late` booking back in the same call; see
        `RedisStore.reserve`) and sleep until `early` seconds before their instant."""
        booker = self.booker
        member = self._store.new_member(cost, lane)
        async with self._or_give_back(member, *([] if late is None else [late])):
            if booker.crowding is not None and not booker.crowding.watching(self.keys.moved):
                await booker.call(partial(booker.crowding.watch, self.keys.moved))
            booking = await self._reserve(member, late=late, max_wait=max_wait)
            while booking.stale:  # Redis lost the log: count what this process holds first
                await self._register_again(booking.epoch)
                booking = await self._reserve(member, late=late, max_wait=max_wait)
            self._epoch = booking.epoch
            booker.answered()
            if booking.refused:
                assert max_wait is not None
                raise QuotaWaitTooLongError(
                    api=self.quota.api, wait=booking.delay, max_wait=max_wait
                )
            self._ledger.book(member, cost, booking.instant, now=booking.now)
            held = Held(booking.member, cost, booking.instant)
            await booker.sleep(max(0.0, self._due(held).latest - early - booker.clock()))
        return held

    async def _wait_for(self, held: Held) -> None:
        """Sleep until `held`'s instant (never before it); cancelled, give the booking back."""
        async with self._or_give_back(held.member):
            if self.booker.redis_clock.spread > self.booker.slack:
                await self._read_redis_clock()
            await self.booker.sleep(max(0.0, self._due(held).latest - self.booker.clock()))

    @contextlib.asynccontextmanager
    async def _or_give_back(self, *members: str) -> AsyncIterator[None]:
        """If the block ends early (cancelled, timed out, failed) other than by Redis failing
        (then the entries expire with their window), give `members` back before the error
        goes on: units that will not be sent take no quota."""
        try:
            yield
        except (LimiterUnavailableError, QuotaWaitTooLongError):  # nothing is booked
            raise
        except BaseException:
            if members:
                await self._give_back(*members)
            raise

    async def _give_back(self, *members: str) -> None:
        # Shielded: the task is being cancelled, and the units must not stay booked.
        self._ledger.drop(*members)
        with (
            anyio.CancelScope(shield=True),
            anyio.move_on_after(self.booker.timeout),
            contextlib.suppress(RedisError, OSError),
        ):
            await self._store.give_back(self.keys, *members)

    async def _read_redis_clock(self) -> None:
        """Ask Redis's clock once, to tighten the local mapping of instants."""
        await self._observed(partial(self._store.time, self.keys), lambda now: now)
        self.booker.stats.clock_reads += 1

    def _due(self, held: Held) -> Due:
        return self.booker.redis_clock.due(held.instant)

    async def _reserve(
        self,
        member: str,
        *,
        late: str | None = None,
        floor: int = 0,
        max_wait: float | None = None,
    ) -> Booking:
        """One reservation under the epoch last booked under (see `RedisStore.reserve`)."""
        booker, quota = self.booker, self.quota
        interval = booker.interval
        if interval is None:  # the in-process limiter's pacing
            interval = min(MAX_INTERVAL, (quota.window + quota.margin) / (2 * quota.limit))
        reserve = partial(
            self._store.reserve,
            self.keys,
            quota,
            member,
            interval=interval,
            share=booker.share,
            slack=booker.slack,
            late=late,
            epoch=self._epoch,
            floor=floor,
            notice=booker.notice,
            max_wait=max_wait,
        )
        return await self._observed(reserve, attrgetter("now"))

    async def _observed(self, call: Callable[[], Awaitable[_T]], now: Callable[[_T], int]) -> _T:
        """One Redis call whose reply carries Redis's clock (`now(reply)`), which tightens
        the mapping of instants."""
        asked = self.booker.clock()
        reply = await self.booker.call(call)
        self.booker.redis_clock.observe(now(reply), asked, self.booker.clock())
        return reply

    # Registering this process's bookings again: after Redis lost the log, after an outage.

    async def _register_again(self, epoch: str) -> None:
        """The log's epoch is now `epoch` (Redis lost the log): register this process's
        bookings in it, once per epoch however many tasks noticed: those that left or leave
        now where they are, then those held for later where they fit, from their instants on
        (each send then waits for its new instant). Stops early if the epoch changes again."""
        if self._registering is None:
            self._registering = anyio.Lock()
        async with self._registering:
            if self._epoch == epoch:
                return  # another task did it
            due, ahead = self._ledger.split(self._latest_now())
            if not (await self._restore(due, epoch))[1]:
                return
            self._epoch = epoch
            for entry in ahead:
                booking = await self._reserve(entry.member, floor=entry.instant)
                if booking.stale:
                    return
                if booking.instant != entry.instant:
                    self._ledger.placed(entry.member, booking.instant)
            self.booker.stats.reregistered += len(due) + len(ahead)

    async def _restore(self, due: list[Entry], epoch: str) -> tuple[str, bool]:
        """Count `due` where they are, under `epoch`; the log's epoch and whether it was."""
        entries = [(entry.member, entry.instant) for entry in due]
        restore = partial(
            self._store.restore,
            self.keys,
            self.quota,
            entries,
            slack=self.booker.slack,
            epoch=epoch,
        )
        return await self.booker.call(restore)

    def _latest_now(self) -> int:
        """Now on Redis's clock (microseconds), at the latest."""
        return self.booker.redis_clock.latest_instant(self.booker.clock())

    async def check_epoch(self) -> None:
        """Register this process's bookings again if Redis lost the log (quietly: if Redis
        fails, the next booking checks again)."""
        if not self._epoch:
            return
        with contextlib.suppress(LimiterUnavailableError):
            fresh, same = await self._restore([], self._epoch)
            if not same:
                await self._register_again(fresh)

    def outstanding(self) -> list[tuple[float, int]]:
        """This process's bookings that still share a window with now, held or left: (local
        instant in seconds, units), for a fallback limiter to count."""
        if self.booker.redis_clock.spread == math.inf:  # Redis never answered: none booked
            return []
        entries = self._ledger.entries(self._latest_now())
        return [(self._due(Held(e.member, e.cost, e.instant)).latest, e.cost) for e in entries]

    async def hand_over(self, sends: list[tuple[float, int]]) -> None:
        """Redis answers again: count `sends` ((local instant in seconds, units) that a
        fallback let go or granted meanwhile) in the log, before anything new is booked."""
        mapping, now = self.booker.redis_clock, self._latest_now()
        for local, cost in sends:
            member = self._store.new_member(cost)
            self._ledger.book(member, cost, mapping.latest_instant(local), now=now)
            self._ledger.move(member, mapping.latest_instant(local), left=True)
        while True:
            due, _ = self._ledger.split(self._latest_now())
            fresh, registered = await self._restore(due, self._epoch)
            if registered:
                self._epoch = fresh
                self.booker.stats.reregistered += len(sends)
                return
            await self._register_again(fresh)
