"""Lanes and `max_wait` in the Redis limiter (issue #14), across processes.

Two limiters on two clients stand for two processes. Sleeps are recorded, not waited out,
so the delays asserted are the ones Redis computed; the log is read back to check every
window. An interactive booking goes before every bulk one queued more than `notice` ahead
(moving them later), bulk keeps `bulk_share` of each window while both lanes wait, and a
wait over `max_wait` books nothing.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from rongpub import InvalidRequestError, Quota, QuotaWaitTooLongError, RateLimitedError
from rongpub._limit.protocol import Lane
from rongpub._redis.store import quota_keys
from rongpub.redis import DEFAULT_NOTICE

from .conftest import Factory
from .fakes import Sleeps, new_quota, until

pytestmark = pytest.mark.anyio


MICROS = 1_000_000


@pytest.fixture
def anyio_backend() -> str:
    """redis-py's asyncio client runs on asyncio only."""
    return "asyncio"


@pytest.fixture
def make_limiter(make_limiter: Factory) -> Factory:
    """conftest's, with every limiter's sleeps recorded."""
    return lambda **options: make_limiter(**{"sleep": Sleeps(), **options})


def lanes_quota(limit: int, bulk_share: float = 0.0, *, window: float = 1.0) -> Quota:
    return dataclasses.replace(new_quota(limit, window=window), bulk_share=bulk_share)


async def log(redis: Redis, quota: Quota) -> list[tuple[int, str]]:
    """The quota's log: (instant in microseconds, member), in time order."""
    entries: Any = await redis.zrange(quota_keys("rongpub", quota).log, 0, -1, withscores=True)
    return sorted((int(score), member.decode()) for member, score in entries)


def units(member: str) -> int:
    return int(member.rsplit(":", 1)[1])


def bulk(member: str) -> bool:
    return member.rsplit(":", 1)[0].endswith("b")


def fullest(entries: list[tuple[int, str]], quota: Quota, *, lane: Lane | None = None) -> int:
    """The most units (of `lane`, or all) any window of the log holds."""
    width = round((quota.window + quota.margin) * MICROS)
    chosen = [(t, m) for t, m in entries if lane is None or bulk(m) == (lane == "bulk")]
    return max(
        (sum(units(m) for s, m in chosen if end - width < s <= end) for end, _ in entries),
        default=0,
    )


async def redis_now(redis: Redis) -> int:
    seconds, micros = await redis.time()
    return int(seconds) * MICROS + int(micros)


async def test_an_interactive_send_goes_before_bulk_queued_in_another_process(
    make_limiter: Factory, redis: Redis
) -> None:
    quota = lanes_quota(5)
    waited = Sleeps()
    fanout, api = make_limiter(), make_limiter(sleep=waited)
    for _ in range(20):  # four windows of bulk bookings
        await fanout.acquire(quota, 1, lane="bulk")
    before = await log(redis, quota)
    now = await redis_now(redis)
    queued = [t for t, m in before if t >= now + DEFAULT_NOTICE * MICROS]
    await api.acquire(quota, 1)
    assert sum(waited.delays) < DEFAULT_NOTICE + 0.2  # not the queue's 4 s: one bulk spacing
    after = await log(redis, quota)
    mine = next(t for t, m in after if not bulk(m))
    assert mine <= min(queued)  # before every queued bulk booking: within the next window
    assert fullest(after, quota) <= quota.limit
    assert len(after) == 21  # the bulk bookings moved, none dropped
    assert max(t for t, _ in after) > max(t for t, _ in before)  # the queue grew by one


async def test_a_bulk_booking_moved_by_an_interactive_one_leaves_on_its_new_instant(
    make_limiter: Factory, redis: Redis
) -> None:
    quota = lanes_quota(2)
    fanout_sleeps = Sleeps()
    fanout, api = make_limiter(sleep=fanout_sleeps), make_limiter()
    departures = [await fanout.acquire(quota, 1, lane="bulk") for _ in range(4)]
    old = [t for t, m in await log(redis, quota) if bulk(m)]
    await api.acquire(quota, 1)  # takes the second window's first unit
    await until(lambda: fanout.stats.heard >= 1)
    new = {m: t for t, m in await log(redis, quota)}
    last = departures[-1]
    assert last is not None
    fanout_sleeps.delays.clear()
    await last.leaving()
    assert fanout.stats.crowded == 1
    moved = max(t for m, t in new.items() if bulk(m))
    assert moved > max(old)  # pushed a window later, and this process waits for it
    assert sum(fanout_sleeps.delays) > 1.0  # its wait reached past the old instant


@pytest.mark.parametrize("cost", [1, 2])
async def test_bulk_bookings_are_spread_evenly_over_the_window(
    make_limiter: Factory, redis: Redis, cost: int
) -> None:
    # So that units come free all through each window, for interactive sends to take.
    quota = lanes_quota(6)
    fanout = make_limiter()
    for _ in range(12):
        await fanout.acquire(quota, cost, lane="bulk")
    instants = [t for t, _ in await log(redis, quota)]
    spacing = cost * (MICROS // quota.limit)
    assert all(b - a >= spacing for a, b in itertools.pairwise(instants))
    assert instants[-1] - instants[0] < (12 * spacing) + 2 * MICROS // 100  # and no more
    for _ in range(3):  # interactive sends move them, and they stay spread
        await make_limiter().acquire(quota, 1)
    entries = await log(redis, quota)
    moved = [t for t, m in entries if bulk(m)]
    assert moved != instants[: len(moved)] and len(moved) == 12
    assert all(b - a >= spacing for a, b in itertools.pairwise(moved))
    assert fullest(entries, quota) <= quota.limit


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    steps=st.lists(
        st.tuples(st.integers(0, 1), st.sampled_from(["interactive", "bulk"]), st.integers(1, 3)),
        min_size=1,
        max_size=30,
    ),
    limit=st.integers(3, 6),
    share=st.sampled_from([0.0, 0.2, 0.5]),
)
async def test_every_window_holds_at_most_the_limit_with_mixed_lanes_from_two_processes(
    make_limiter: Factory,
    redis: Redis,
    steps: list[tuple[int, Lane, int]],
    limit: int,
    share: float,
) -> None:
    quota = lanes_quota(limit, share)
    limiters = [make_limiter(interval=0.0), make_limiter(interval=0.0)]
    for which, lane, cost in steps:
        await limiters[which].acquire(quota, min(cost, limit), lane=lane)
        assert fullest(await log(redis, quota), quota) <= limit


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(lanes=st.lists(st.sampled_from(["interactive", "bulk"]), min_size=1, max_size=30))
@example(lanes=["bulk"] * 7 + ["interactive"])
async def test_an_interactive_booking_never_lands_behind_a_queued_bulk_one(
    make_limiter: Factory, redis: Redis, lanes: list[Lane]
) -> None:
    # One unit each and no bulk share: wherever a queued bulk booking lies, the interactive
    # one fits there too, so it is never placed after one. Windows of 10 s, so that Redis's
    # clock moving on between the calls (a busy machine) cannot matter.
    quota = lanes_quota(3, window=10.0)
    limiters = [make_limiter(interval=0.0), make_limiter(interval=0.0)]
    margin = (DEFAULT_NOTICE + 1.0) * MICROS
    for index, lane in enumerate(lanes):
        before = await log(redis, quota)
        now = await redis_now(redis)
        queued = [t for t, m in before if bulk(m) and t >= now + margin]
        await limiters[index % 2].acquire(quota, 1, lane=lane)
        if lane == "interactive" and queued:
            mine = {m for _, m in await log(redis, quota)} - {m for _, m in before}
            (instant,) = [t for t, m in await log(redis, quota) if m in mine]
            assert instant <= min(queued)


async def test_bulk_keeps_its_share_while_both_lanes_wait(
    make_limiter: Factory, redis: Redis
) -> None:
    quota = lanes_quota(10, bulk_share=0.2)
    fanout, api = make_limiter(), make_limiter()
    for _ in range(40):
        await fanout.acquire(quota, 1, lane="bulk")
    for _ in range(40):
        await api.acquire(quota, 1)
    entries = await log(redis, quota)
    last_bulk = max(t for t, m in entries if bulk(m))
    last_interactive = max(t for t, m in entries if not bulk(m))
    width = quota.window * MICROS
    assert last_interactive < last_bulk - width  # the interactive ones went ahead of the queue
    first = entries[0][0]
    # Windows wholly after the first (whose bulk bookings were due), while both lanes waited:
    # interactive ones took at most 8 of each 10, bulk ones the rest.
    ends = [t for t, _ in entries if first + 2 * width <= t <= last_interactive]
    assert ends
    for end in ends:
        window = [(t, m) for t, m in entries if end - width < t <= end]
        assert sum(units(m) for _, m in window if not bulk(m)) <= 8, window
        assert sum(units(m) for _, m in window if bulk(m)) >= 2, window
    assert fullest(entries, quota) <= quota.limit


async def test_over_max_wait_raises_at_once_with_the_wait_and_takes_nothing(
    make_limiter: Factory, redis: Redis
) -> None:
    quota = lanes_quota(5)
    fanout, api = make_limiter(), make_limiter()
    for _ in range(20):
        await fanout.acquire(quota, 1, lane="bulk")
    before = await log(redis, quota)
    with pytest.raises(QuotaWaitTooLongError) as raised:
        await fanout.acquire(quota, 1, lane="bulk", max_wait=0.5)
    error = raised.value
    assert isinstance(error, RateLimitedError)
    assert 3.0 < error.wait <= 4.0 and error.retry_after == error.wait
    assert error.max_wait == 0.5 and error.api == quota.api
    assert await log(redis, quota) == before  # nothing booked, nothing moved
    # An interactive send under the same bound goes ahead of the queue instead.
    await api.acquire(quota, 1, max_wait=1.5)
    assert len(await log(redis, quota)) == 21


async def test_max_wait_zero_succeeds_when_the_quota_is_free(make_limiter: Factory) -> None:
    quota = lanes_quota(2)
    sleeps = Sleeps()
    await make_limiter(sleep=sleeps).acquire(quota, 2, max_wait=0.0)
    assert sleeps.delays == [0.0, 0.0] or max(sleeps.delays) < 0.01


@pytest.mark.parametrize("lane", ["interactive", "bulk"])
async def test_a_cancelled_or_timed_out_wait_gives_its_booking_back(
    make_limiter: Factory, redis: Redis, lane: Lane
) -> None:
    quota = lanes_quota(2)
    await make_limiter().acquire(quota, 2, lane="bulk")  # the window is full
    waiting = Sleeps(block=True)
    waiter = make_limiter(sleep=waiting)
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: waiter.acquire(quota, 1, lane=lane))
        await waiting.wait_for(1)
        tg.cancel_scope.cancel()
    assert len(await log(redis, quota)) == 1
    with anyio.move_on_after(0.2):  # a caller's timeout around a real wait
        await make_limiter(sleep=anyio.sleep).acquire(quota, 2, lane=lane)
    assert len(await log(redis, quota)) == 1


@pytest.mark.parametrize(
    ("option", "value"), [("lane", "urgent"), ("max_wait", -1.0), ("max_wait", math.nan)]
)
async def test_bad_lanes_and_bounds_are_refused(
    make_limiter: Factory, option: str, value: object
) -> None:
    with pytest.raises(InvalidRequestError, match=option):
        await make_limiter().acquire(lanes_quota(2), 1, **{option: value})  # type: ignore[arg-type]
