"""A Redis booking leaves on its instant: woken early, held until the instant, booked again
when it comes too late; the clock mapping never puts a send before its instant.

Unit tests on a fake clock and a scripted store (no Redis, both event-loop backends); the
last test books against a real redis-server.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import cast

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from rongpub import LimiterUnavailableError, Quota
from rongpub._limit.protocol import Lane, Limiter
from rongpub._redis.booker import Booker
from rongpub._redis.booking import SharedQuota
from rongpub._redis.clock import RedisClock
from rongpub._redis.departure import RedisDeparture
from rongpub._redis.protocols import Crowding
from rongpub._redis.store import Booking, QuotaKeys, Redated, quota_keys
from rongpub.redis import RedisLimiter

from .fakes import RecordingLimiter, new_quota

#: Redis's wall clock runs this far ahead of the fake monotonic clock (microseconds).
OFFSET_US = 1_700_000_000_000_000
SLACK, LEAD = 0.01, 0.06


class FakeClock:
    """Monotonic seconds that advance only when someone sleeps; from the `block_from`-th
    sleep on, sleeping never ends (until cancelled)."""

    def __init__(self, *, block_from: int | None = None) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.block_from = block_from

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.block_from is not None and len(self.sleeps) > self.block_from:
            await anyio.sleep_forever()
        self.now += seconds
        await anyio.lowlevel.checkpoint()


class ScriptedStore:
    """Books each reservation `delays[i]` seconds after Redis's now (the fake clock shifted
    by `OFFSET_US`); each reply reaches the caller `transit` seconds after Redis ran it."""

    def __init__(self, clock: FakeClock, delays: list[float], *, transit: float = 0.0) -> None:
        self.clock = clock
        self.delays = delays
        self.transit = transit
        self.booked: list[str] = []
        self.given_back: list[str] = []
        self.times = 0  # reads of Redis's clock alone
        self.late: list[str] = []  # late bookings handed back to the reservation script
        self.redated: list[tuple[str, int | None]] = []  # (member, written or None: now)
        self.paused = False  # whether a send leaving late finds the quota paused
        self.hang = False  # whether re-dating never answers (until cancelled)
        self.fail_from: int | None = None  # reservations from this index on raise
        self._count = 0

    def _now(self) -> int:
        return round(self.clock.now * 1_000_000) + OFFSET_US

    def new_member(self, cost: int, lane: Lane = "interactive") -> str:
        self._count += 1
        return f"m{self._count}{'b' if lane == 'bulk' else ''}:{cost}"

    async def reserve(
        self,
        keys: QuotaKeys,
        quota: Quota,
        member: str,
        *,
        interval: float,
        share: int,
        slack: float,
        late: str | None = None,
        epoch: str = "",
        floor: int = 0,
        notice: float = 0.0,
        max_wait: float | None = None,
    ) -> Booking:
        if self.fail_from is not None and len(self.booked) >= self.fail_from:
            raise RedisConnectionError("refused")
        now = self._now()
        if late is not None:
            self.late.append(late)
        delay = self.delays[len(self.booked)]
        self.booked.append(member)
        self.clock.now += self.transit
        instant = now + round(delay * 1_000_000)
        return Booking(member=member, instant=instant, delay=delay, now=now)

    async def pause(self, keys: QuotaKeys, seconds: float) -> float:
        return seconds

    async def restore(
        self,
        keys: QuotaKeys,
        quota: Quota,
        entries: list[tuple[str, int]],
        *,
        slack: float,
        epoch: str = "",
    ) -> tuple[str, bool]:
        return epoch, True

    async def give_back(self, keys: QuotaKeys, *members: str) -> None:
        self.given_back.extend(members)

    async def redate(
        self, keys: QuotaKeys, quota: Quota, member: str, *, written: int | None, slack: float
    ) -> Redated:
        if self.fail_from is not None and len(self.booked) >= self.fail_from:
            raise RedisConnectionError("refused")
        self.redated.append((member, written))
        if self.hang:
            await anyio.sleep_forever()
        now = self._now()
        if written is None:
            return Redated(moved=0, instant=None if self.paused else now, now=now)
        return Redated(moved=0, instant=written - round(slack * 1_000_000), now=now)

    async def time(self, keys: QuotaKeys) -> int:
        self.times += 1
        return self._now()  # answered at once


QUOTA = Quota(scope="app", api="group", limit=20, margin=0.01)
KEYS = quota_keys("rongpub-test", QUOTA)


def booker(store: ScriptedStore, clock: FakeClock, crowding: Crowding | None = None) -> SharedQuota:
    """`QUOTA`'s bookings through `store`."""
    return Booker(
        store,
        timeout=5.0,
        interval=0.0,
        share=1,
        slack=SLACK,
        lead=LEAD,
        crowding=crowding,
        clock=clock,
        sleep=clock.sleep,
    ).quota(QUOTA, lambda quota: KEYS)


def refuse(exc: LimiterUnavailableError) -> Limiter:
    raise exc


async def depart(books: SharedQuota, clock: FakeClock, *, prepare: float) -> RedisDeparture:
    """Acquire 2 units, spend `prepare` seconds on the request, then leave."""
    held = await books.acquire(2)
    departure = RedisDeparture(books, held, refuse)
    clock.now += prepare
    await departure.leaving()
    return departure


async def reported(books: SharedQuota, clock: FakeClock) -> None:
    """One send that leaves on time, so the booker knows departures are reported."""
    await depart(books, clock, prepare=0.0)
    clock.sleeps.clear()


@pytest.mark.anyio
async def test_a_send_wakes_lead_early_and_leaves_on_its_instant() -> None:
    clock = FakeClock()
    store = ScriptedStore(clock, [0.0, 1.0])
    books = booker(store, clock)
    await reported(books, clock)
    start = clock.now
    await depart(books, clock, prepare=0.008)  # signing and a new connection, inside the lead
    assert clock.sleeps[0] == pytest.approx(1.0 - LEAD)
    assert clock.now == pytest.approx(start + 1.0)
    assert books.booker.stats.rebooked == 0 and store.given_back == []


@pytest.mark.anyio
async def test_without_reported_departures_a_send_wakes_on_its_instant() -> None:
    # A transport that never calls leaving(): the units must not be handed out early.
    clock = FakeClock()
    books = booker(ScriptedStore(clock, [1.0]), clock)
    await books.acquire(2)
    assert clock.now == pytest.approx(1.0)


@pytest.mark.anyio
async def test_a_send_late_by_no_more_than_the_slack_leaves_at_once() -> None:
    clock = FakeClock()
    store = ScriptedStore(clock, [0.0, 0.5])
    books = booker(store, clock)
    await reported(books, clock)
    start = clock.now
    await depart(books, clock, prepare=LEAD + SLACK - 0.001)  # leaving 1 ms within the slack
    assert clock.now == pytest.approx(start + 0.5 + SLACK - 0.001)
    assert books.booker.stats.rebooked == 0 and len(store.booked) == 2


@pytest.mark.anyio
async def test_a_send_later_than_the_slack_leaves_at_once_counted_from_then() -> None:
    clock = FakeClock()
    store = ScriptedStore(clock, [0.0])
    books = booker(store, clock)
    await depart(books, clock, prepare=SLACK + 0.001)  # a slow connection: 11 ms late
    assert books.booker.stats.moved == 1 and books.booker.stats.rebooked == 0
    assert store.redated == [(store.booked[0], None)]  # re-dated to now by the script
    assert len(store.booked) == 1 and clock.now == pytest.approx(SLACK + 0.001)


@pytest.mark.anyio
async def test_a_late_send_while_the_quota_is_paused_books_again() -> None:
    clock = FakeClock()
    store = ScriptedStore(clock, [0.0, 0.5])
    store.paused = True
    books = booker(store, clock)
    await depart(books, clock, prepare=0.05)
    assert books.booker.stats.rebooked == 1 and books.booker.stats.moved == 0
    assert store.late == store.booked[:1]  # handed to the reservation script, given back
    assert clock.now == pytest.approx(0.05 + 0.5)  # on the new booking's instant


@pytest.mark.anyio
@pytest.mark.parametrize("lane", ["interactive", "bulk"])
async def test_a_send_booked_again_keeps_its_lane(lane: Lane) -> None:
    clock = FakeClock()
    store = ScriptedStore(clock, [0.0, 0.5])
    store.paused = True
    books = booker(store, clock)
    held = await books.acquire(2, lane)
    clock.now += 0.05  # too late, and the quota is paused: it books again
    await RedisDeparture(books, held, refuse).leaving()
    assert [member.endswith("b:2") for member in store.booked] == [lane == "bulk"] * 2


@pytest.mark.anyio
async def test_a_late_send_cancelled_while_it_is_re_dated_gives_the_booking_back() -> None:
    clock = FakeClock()
    store = ScriptedStore(clock, [0.0])
    store.hang = True
    books = booker(store, clock)
    with anyio.move_on_after(0.05):
        await depart(books, clock, prepare=0.05)
    assert store.given_back == store.booked  # its units were never sent


@pytest.mark.anyio
async def test_leaving_twice_waits_and_counts_once() -> None:
    clock = FakeClock()
    store = ScriptedStore(clock, [0.0])
    books = booker(store, clock)
    departure = await depart(books, clock, prepare=0.03)
    left = clock.now
    await departure.leaving()
    assert clock.now == left and len(store.booked) == 1 and len(store.redated) == 1


@pytest.mark.anyio
async def test_a_loose_clock_mapping_is_tightened_by_reading_redis_time() -> None:
    # The reply took 50 ms: the instant is known only to within 50 ms, more than the slack,
    # so the send asks Redis's clock once instead of counting itself late.
    clock = FakeClock()
    store = ScriptedStore(clock, [1.0], transit=0.05)
    books = booker(store, clock)
    books.booker.reported = True  # as after earlier sends (whose calls would tighten the mapping)
    await depart(books, clock, prepare=0.0)
    assert store.times == 1
    assert books.booker.stats.rebooked == 0
    assert clock.now == pytest.approx(1.0)


@pytest.mark.anyio
async def test_a_send_cancelled_while_waiting_for_its_instant_gives_the_booking_back() -> None:
    clock = FakeClock(block_from=1)  # acquire's sleep passes, leaving()'s never ends
    store = ScriptedStore(clock, [1.0])
    books = booker(store, clock)
    books.booker.reported = True  # as after earlier sends: acquire wakes `lead` early
    held = await books.acquire(1)
    departure = RedisDeparture(books, held, refuse)
    with anyio.move_on_after(0.01):
        await departure.leaving()
    assert store.given_back == [held.member]
    assert len(clock.sleeps) == 2  # it was waiting for the instant when cancelled


@pytest.mark.anyio
async def test_redis_failing_while_booking_again_falls_back_or_fails_closed() -> None:
    clock = FakeClock()
    store = ScriptedStore(clock, [0.0, 0.0])
    store.fail_from = 2
    books = booker(store, clock)
    fallback = RecordingLimiter()
    first, second = await books.acquire(3), await books.acquire(2)
    clock.now += 0.1  # both too late: they book again, and Redis refuses
    await RedisDeparture(books, first, lambda exc: fallback).leaving()
    assert fallback.acquired == [(QUOTA, 3)]
    with pytest.raises(LimiterUnavailableError, match="Redis did not answer"):
        await RedisDeparture(books, second, refuse).leaving()


class Moved:
    """A `Crowding` in which the test moves bookings as a late send elsewhere would."""

    def __init__(self) -> None:
        self.moves: dict[str, int] = {}
        self.watched: list[str] = []
        self.closed = False

    async def watch(self, channel: str) -> None:
        self.watched.append(channel)

    def watching(self, channel: str) -> bool:
        return channel in self.watched

    def take(self, member: str) -> int | None:
        return self.moves.pop(member, None)

    async def aclose(self) -> None:
        self.closed = True


@pytest.mark.anyio
async def test_a_booking_moved_by_a_late_send_leaves_on_its_new_instant_without_a_call() -> None:
    clock = FakeClock()
    store = ScriptedStore(clock, [0.0, 1.0])
    moved = Moved()
    books = booker(store, clock, moved)
    await reported(books, clock)
    held = await books.acquire(2)
    moved.moves[held.member] = held.instant + 30_000  # a send elsewhere was written late
    start = clock.now
    departure = RedisDeparture(books, held, refuse)
    await departure.leaving()
    assert (
        books.booker.stats.crowded == 1
        and books.booker.stats.rebooked == books.booker.stats.moved == 0
    )
    assert len(store.booked) == 2 and store.redated == []  # no call: the script moved it
    assert clock.now == pytest.approx(start + LEAD + 0.03)  # on the new instant
    departure.left()  # written on time for its new instant: nothing to report
    await books.booker.aclose()
    assert store.redated == [] and moved.closed
    assert moved.watched == [KEYS.moved]  # before the first booking


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the report is an asyncio task
@pytest.mark.parametrize(("written", "reported_late"), [(SLACK - 0.001, False), (0.02, True)])
async def test_a_write_later_than_the_slack_is_reported_to_redis(
    written: float, reported_late: bool
) -> None:
    clock = FakeClock()
    store = ScriptedStore(clock, [0.0])
    books = booker(store, clock)
    departure = await depart(books, clock, prepare=0.0)
    clock.now += written  # from leaving() returning to the request written
    departure.left()
    departure.left()  # a second call reports nothing more
    await books.booker.aclose()  # waits for the report
    assert store.redated == ([(store.booked[0], store._now())] if reported_late else [])
    assert books.booker.stats.late_writes == int(reported_late)


@given(
    offset=st.integers(0, 10**15),
    calls=st.lists(st.tuples(st.floats(0, 0.05), st.floats(0, 0.05), st.floats(0, 2)), min_size=1),
)
def test_a_mapped_instant_brackets_the_true_one(
    offset: int, calls: list[tuple[float, float, float]]
) -> None:
    # Each call: Redis runs it `there` seconds after it was asked and its reply is handled
    # `back` seconds after that; it books `delay` ahead. Local clock in seconds from 1,000.
    mapping = RedisClock(samples=4)
    asked = 1_000.0
    recent: list[tuple[float, float]] = []
    for there, back, delay in calls:
        ran = asked + there
        mapping.observe(offset + round(ran * 1_000_000), asked, ran + back)
        due = mapping.due(offset + round((ran + delay) * 1_000_000))
        recent = [*recent[-3:], (there, back)]
        # Never waits less than the true instant, never counts less lateness (2 µs: the
        # integer instants); each bound off by the fastest recent transit on its side.
        true = ran + delay
        assert true - 2e-6 <= due.latest <= true + min(b for _, b in recent) + 2e-6
        assert true - min(t for t, _ in recent) - 2e-6 <= due.earliest <= true + 2e-6
        assert mapping.spread == pytest.approx(due.latest - due.earliest, abs=2e-6)
        asked = ran + back + 0.01


def test_bounds_that_contradict_each_other_are_dropped() -> None:
    # Redis's clock stepped back a second: the old bounds no longer hold.
    mapping = RedisClock()
    second = 1_000_000
    mapping.observe(5 * second, 3.0, 3.0)
    mapping.observe(5 * second, 4.0, 4.0)
    due = mapping.due(5 * second)
    assert due.earliest == due.latest == pytest.approx(4.0)


def test_before_any_call_the_mapping_is_unknown() -> None:
    assert RedisClock().spread == math.inf


@pytest.fixture
async def limiter(redis_url: str) -> AsyncIterator[RedisLimiter]:
    made = RedisLimiter.from_url(redis_url, slack=SLACK, lead=LEAD)
    yield made
    await made.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_request_held_past_its_instant_leaves_at_once_when_its_units_fit(
    limiter: RedisLimiter, redis_url: str
) -> None:
    quota = new_quota(5)
    departure = await limiter.acquire(quota, 1)
    assert departure is not None
    await anyio.sleep(0.1)  # a connection that took 100 ms to open (10 x the slack)
    await departure.leaving()
    assert limiter.stats.moved >= 1 and limiter.stats.rebooked == 0
    async with Redis.from_url(redis_url) as client:
        assert await client.zcard(quota_keys("rongpub", quota).log) == 1  # moved, not added


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_request_held_past_its_instant_moves_the_next_windows_booking(
    limiter: RedisLimiter, redis_url: str
) -> None:
    quota = new_quota(2, window=0.2)
    late = await limiter.acquire(quota, 2)
    assert late is not None
    log = quota_keys("rongpub", quota).log
    async with Redis.from_url(redis_url) as client, anyio.create_task_group() as tg:
        tg.start_soon(limiter.acquire, quota, 2)  # the next window's sender, to the limit
        await anyio.sleep(0.1)
        await late.leaving()  # 100 ms late: counted from now, it crowds the next window
        entries = cast(list[tuple[bytes, float]], await client.zrange(log, 0, -1, withscores=True))
        tg.cancel_scope.cancel()
    assert limiter.stats.moved == 1 and limiter.stats.rebooked == 0
    first, second = (score for _, score in entries)
    assert second - first >= round((quota.window + SLACK) * 1_000_000)  # a window after it
