"""The reservation script against a real Redis: the window guarantee, tightness and fairness.

Instants are the ones Redis hands out (its own `TIME`, microseconds), so no host clock and
no real sleeping is involved: reservations may lie seconds ahead and nobody waits for them.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from rongpub import Quota
from rongpub._redis.store import Booking, RedisStore, quota_keys

from .fakes import new_quota

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """redis-py's asyncio client runs on asyncio only (trio: see test_redis_backend.py)."""
    return "asyncio"


def width_us(quota: Quota) -> int:
    return round((quota.window + quota.margin) * 1_000_000)


def worst_window(bookings: list[Booking], width: int) -> int:
    """Most units booked at instants inside any half-open window [s, s + width)."""
    ordered = sorted(bookings, key=lambda b: b.instant)
    worst = used = start = 0
    for booking in ordered:
        used += cost_of(booking)
        while ordered[start].instant <= booking.instant - width:
            used -= cost_of(ordered[start])
            start += 1
        worst = max(worst, used)
    return worst


def cost_of(booking: Booking) -> int:
    return int(booking.member.rsplit(":", 1)[1])


class Clients:
    """Several independent Redis clients, as several processes would hold."""

    def __init__(self, url: str, count: int) -> None:
        self.stores = [RedisStore(Redis.from_url(url)) for _ in range(count)]

    async def book_all(
        self, quota: Quota, costs: list[int], *, interval: float = 0.0, share: int = 1
    ) -> list[Booking]:
        """Book every cost concurrently, spread over the clients."""
        keys = quota_keys("rongpub-test", quota)
        bookings: list[Booking] = []

        async def book(store: RedisStore, cost: int) -> None:
            member = store.new_member(cost)
            booking = await store.reserve(keys, quota, member, interval=interval, share=share)
            bookings.append(booking)

        async with anyio.create_task_group() as tg:
            for index, cost in enumerate(costs):
                tg.start_soon(book, self.stores[index % len(self.stores)], cost)
        return bookings

    async def aclose(self) -> None:
        for store in self.stores:
            await store.client.aclose()


@pytest.fixture
async def clients(redis_url: str) -> AsyncIterator[Clients]:
    pool = Clients(redis_url, 3)
    yield pool
    await pool.aclose()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    limit=st.sampled_from([1, 2, 3, 5, 7, 12, 20, 100]),
    margin=st.sampled_from([0.0, 0.01, 0.25]),
    interval=st.sampled_from([0.0, 0.005]),
    share=st.sampled_from([1, 4]),
    costs=st.lists(st.integers(1, 10), min_size=1, max_size=40),
)
async def test_no_window_holds_more_than_the_limit(
    clients: Clients, limit: int, margin: float, interval: float, share: int, costs: list[int]
) -> None:
    quota = new_quota(limit, margin=margin)
    sizes = [min(cost, limit) for cost in costs]
    bookings = await clients.book_all(quota, sizes, interval=interval, share=share)
    assert worst_window(bookings, width_us(quota)) <= limit


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    limit=st.sampled_from([1, 3, 10, 100]),
    interval=st.sampled_from([0.0, 0.005]),
    costs=st.lists(st.integers(1, 10), min_size=1, max_size=40),
)
async def test_a_wait_always_ends_where_the_window_frees_up(
    clients: Clients, limit: int, interval: float, costs: list[int]
) -> None:
    # Tight, not only safe: a booking that waits lands one pacing interval after the newest
    # booking or where an earlier booking leaves the window — never later than it has to.
    quota = new_quota(limit)
    bookings = await clients.book_all(quota, [min(c, limit) for c in costs], interval=interval)
    instants = {b.instant for b in bookings}
    gap = round(interval * 1_000_000)
    allowed = {i + width_us(quota) for i in instants} | {i + gap for i in instants}
    for booking in bookings:
        assert booking.delay == 0 or booking.instant in allowed


async def test_pacing_keeps_bookings_apart(clients: Clients) -> None:
    quota = new_quota(10)
    bookings = await clients.book_all(quota, [1] * 12, interval=0.005)
    instants = sorted(b.instant for b in bookings)
    assert min(b - a for a, b in itertools.pairwise(instants)) >= 5_000


async def test_a_few_bookings_may_share_an_instant_and_the_rest_keep_apart(
    clients: Clients,
) -> None:
    quota = new_quota(10)
    bookings = await clients.book_all(quota, [1] * 12, interval=0.005, share=4)
    shared = Counter(b.instant for b in bookings)
    assert max(shared.values()) == 4
    assert min(b - a for a, b in itertools.pairwise(sorted(shared))) >= 5_000


async def test_ten_room_chatroom_sends_stay_within_the_limit(clients: Clients) -> None:
    # Per-request costs up to 10 are where a plain GCRA overshoots by up to one request.
    quota = new_quota(100, margin=0.01)
    bookings = await clients.book_all(quota, [10, 1, 10, 3, 10, 10, 7] * 12)
    assert worst_window(bookings, width_us(quota)) <= 100
    assert max(b.instant for b in bookings) > min(b.instant for b in bookings)


def room_at(log: list[tuple[int, int]], x: int, cost: int, limit: int, width: int) -> bool:
    """Whether `cost` more units at `x` keep within `limit` every window (y - width, y] that
    holds `x` (brute force: the windows ending at `x` and at each entry after it)."""
    ends = [x] + [t for t, _ in log if x < t < x + width]
    return all(cost + sum(c for t, c in log if y - width < t <= y) <= limit for y in ends)


def near_the_ends(log: list[tuple[int, int]], start: int, width: int) -> Callable[[int], bool]:
    """Where the script looks for room: everywhere in a short log; in a long one, the two
    windows after `start` and from two windows before the newest entry on."""
    reach, newest = 2 * width, max((t for t, _ in log), default=start)
    if newest - reach - width <= start + reach + width:
        return lambda x: True
    return lambda x: x < start + reach or x >= newest - reach


def paced(log: list[tuple[int, int]], x: int, gap: int, share: int) -> bool:
    """Whether a booking at `x` keeps `gap` from every entry at another instant and joins
    fewer than `share` at its own."""
    same = sum(t == x for t, _ in log)
    return same < share and all(t == x or abs(t - x) >= gap for t, _ in log)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    limit=st.sampled_from([3, 5, 20]),
    interval=st.sampled_from([0.0, 0.005]),
    share=st.sampled_from([1, 2, 4]),
    costs=st.lists(st.integers(1, 5), min_size=2, max_size=30),
)
async def test_each_booking_takes_the_earliest_instant_with_room_and_never_moves(
    clients: Clients, limit: int, interval: float, share: int, costs: list[int]
) -> None:
    # Conservative backfilling: a request goes where its units first fit (near the ends of a
    # long log), which may be before the instant of an earlier, larger one, but no booking
    # ever moves, so nobody waits longer for a request that came after it.
    quota = new_quota(limit)
    keys = quota_keys("rongpub-test", quota)
    store = clients.stores[0]
    width, gap = width_us(quota), round(interval * 1_000_000)
    made: dict[str, int] = {}
    for cost in (min(c, limit) for c in costs):
        before: Any = await store.client.zrange(keys.log, 0, -1, withscores=True)
        member = store.new_member(cost)
        booking = await store.reserve(keys, quota, member, interval=interval, share=share)
        log = [(int(t), int(m.decode().rsplit(":", 1)[1])) for m, t in before]
        log = [(t, c) for t, c in log if t > booking.now - width]
        searched = near_the_ends(log, booking.now, width)
        assert room_at(log, booking.instant, cost, limit, width)
        assert paced(log, booking.instant, gap, share)
        after = max(gap, 1)
        earlier = {booking.now} | {t + width for t, _ in log} | {t + after for t, _ in log}
        for x in (x for x in earlier if booking.now <= x < booking.instant and searched(x)):
            assert not (paced(log, x, gap, share) and room_at(log, x, cost, limit, width))
        made[booking.member] = booking.instant
    entries: Any = await store.client.zrange(keys.log, 0, -1, withscores=True)
    assert {m.decode(): int(t) for m, t in entries} == made


async def test_a_small_request_takes_units_a_large_one_leaves_idle(clients: Clients) -> None:
    quota = new_quota(10)
    keys = quota_keys("rongpub-test", quota)
    store = clients.stores[0]
    first = await store.reserve(keys, quota, store.new_member(5))
    large = await store.reserve(keys, quota, store.new_member(8))  # waits for `first` to leave
    small = await store.reserve(keys, quota, store.new_member(2))  # 5 + 2 and 2 + 8 fit
    assert large.instant >= first.instant + width_us(quota)
    assert small.instant < large.instant
    assert await store.client.zscore(keys.log, large.member) == large.instant


async def test_a_small_request_does_not_take_units_a_large_one_needs(clients: Clients) -> None:
    quota = new_quota(10)
    keys = quota_keys("rongpub-test", quota)
    store = clients.stores[0]
    first = await store.reserve(keys, quota, store.new_member(5))
    large = await store.reserve(keys, quota, store.new_member(10))
    small = await store.reserve(keys, quota, store.new_member(1))
    assert large.instant >= first.instant + width_us(quota)
    assert small.instant >= large.instant + width_us(quota)


async def test_a_long_queue_reuses_room_near_its_ends_only(clients: Clients) -> None:
    # Twenty windows of single bookings; one given back near the front is taken again, one
    # given back in the middle is not looked for (a call reads a few windows, not the queue).
    quota = new_quota(1)
    keys = quota_keys("rongpub-test", quota)
    store = clients.stores[0]
    queue = [await store.reserve(keys, quota, store.new_member(1)) for _ in range(20)]
    await store.give_back(keys, queue[1].member, queue[10].member)
    front = await store.reserve(keys, quota, store.new_member(1))
    later = await store.reserve(keys, quota, store.new_member(1))
    assert front.instant == queue[1].instant
    assert later.instant == queue[-1].instant + width_us(quota)


async def test_a_retried_call_gets_the_reservation_it_already_made(clients: Clients) -> None:
    quota = new_quota(3)
    keys = quota_keys("rongpub-test", quota)
    store = clients.stores[0]
    member = store.new_member(3)
    first = await store.reserve(keys, quota, member)
    again = await store.reserve(keys, quota, member)
    assert again.instant == first.instant
    assert await store.client.zcard(keys.log) == 1


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    limit=st.sampled_from([1, 3, 10, 100]),
    costs=st.lists(st.integers(1, 10), min_size=1, max_size=30),
    late=st.lists(st.integers(0, 29), max_size=10),
)
async def test_late_bookings_handed_back_keep_every_window_within_the_limit(
    clients: Clients, limit: int, costs: list[int], late: list[int]
) -> None:
    # Sends that came too late while the quota was paused hand their booking back in the
    # call that books them again. Whatever the mix, the log never holds more than the limit
    # in any window, and holds each send's units once.
    quota = new_quota(limit, margin=0.01)
    keys = quota_keys("rongpub-test", quota)
    store = clients.stores[0]
    bookings = await clients.book_all(quota, [min(c, limit) for c in costs])
    for index in late:
        if index < len(bookings):
            stale = bookings[index]
            bookings[index] = await store.reserve(
                keys, quota, store.new_member(cost_of(stale)), late=stale.member
            )
    entries: Any = await store.client.zrange(keys.log, 0, -1, withscores=True)
    logged = [Booking(member=m.decode(), instant=int(t), delay=0, now=0) for m, t in entries]
    assert worst_window(logged, width_us(quota)) <= limit
    assert sum(map(cost_of, logged)) == sum(map(cost_of, bookings))  # nothing lost or doubled


async def test_a_late_booking_handed_back_leaves_the_log_as_the_new_one_is_made(
    clients: Clients,
) -> None:
    quota = new_quota(3)
    keys = quota_keys("rongpub-test", quota)
    store = clients.stores[0]
    first = await store.reserve(keys, quota, store.new_member(2))
    nxt = await store.reserve(keys, quota, store.new_member(2))  # a window after `first`
    assert nxt.instant >= first.instant + width_us(quota)
    again = await store.reserve(keys, quota, store.new_member(2), late=first.member)
    assert again.member != first.member
    assert await store.client.zscore(keys.log, first.member) is None  # given back
