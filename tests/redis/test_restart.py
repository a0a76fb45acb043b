"""Redis restarted empty while processes hold bookings (issue #13, case 5).

The bookings each limiter holds must be counted again in the new log before anything new is
booked, so that no window holds more than the limit across the old and the new bookings.
"""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from rongpub import Quota
from rongpub._redis.departure import RedisDeparture
from rongpub._redis.store import quota_keys
from rongpub.redis import RedisLimiter
from rongpub.testing import RedisServer

from .fakes import Sleeps, new_quota, until

pytestmark = pytest.mark.anyio

LIMIT = 10
WIDTH_US = 1_000_000  # one window (the quotas here have no margin)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def worst(instants: list[int]) -> int:
    """The most unit bookings (one unit each) in any window of `WIDTH_US` microseconds."""
    instants = sorted(instants)
    return max(
        sum(1 for other in instants if instant <= other < instant + WIDTH_US)
        for instant in instants
    )


async def book(limiter: RedisLimiter, quota: Quota, count: int) -> list[RedisDeparture]:
    """`count` one-unit bookings; the recording sleep returns at once, so they stay held."""
    departures = []
    for _ in range(count):
        departure = await limiter.acquire(quota, 1)
        assert isinstance(departure, RedisDeparture)
        departures.append(departure)
    return departures


async def instants(
    server: RedisServer, quota: Quota, departures: list[RedisDeparture]
) -> list[int]:
    """Where each booking leaves: its instant in the log if the log holds it (registered
    again, perhaps moved), else the instant it was handed (a sleeping task leaves on it)."""
    async with Redis.from_url(server.url) as client:
        entries: Any = await client.zrange(quota_keys("rongpub", quota).log, 0, -1, withscores=True)
        log = dict(entries)
    return [int(log.get(d._held.member.encode(), d._held.instant)) for d in departures]


def limiter(server: RedisServer) -> RedisLimiter:
    return RedisLimiter.from_url(server.url, timeout=1.0, sleep=Sleeps(), lead=0.0, slack=0.0)


async def test_one_process_counts_its_held_bookings_in_the_new_log(server: RedisServer) -> None:
    quota = new_quota(LIMIT)
    one = limiter(server)
    held = await book(one, quota, 2 * LIMIT)  # two windows ahead
    server.restart()
    fresh = await book(one, quota, LIMIT)
    assert worst(await instants(server, quota, held + fresh)) <= LIMIT
    assert one.stats.reregistered == 2 * LIMIT
    await one.aclose()


async def test_each_process_counts_its_own_held_bookings_again(server: RedisServer) -> None:
    quota = new_quota(LIMIT)
    first, second = limiter(server), limiter(server)
    held = await book(first, quota, LIMIT) + await book(second, quota, LIMIT)
    server.restart()
    fresh = await book(first, quota, LIMIT // 2) + await book(second, quota, LIMIT // 2)
    assert worst(await instants(server, quota, held + fresh)) <= LIMIT
    await first.aclose()
    await second.aclose()


async def test_a_moved_booking_leaves_on_its_new_instant(server: RedisServer) -> None:
    quota = new_quota(LIMIT)
    sleeps = Sleeps()
    one = RedisLimiter.from_url(server.url, timeout=1.0, sleep=sleeps, lead=0.0, slack=0.0)
    held = await book(one, quota, LIMIT)
    server.restart()
    await book(one, quota, 1)  # registers the held ones again, after the hold
    moved = await instants(server, quota, held)
    assert all(new > d._held.instant for new, d in zip(moved, held, strict=True))
    asked = len(sleeps.delays)
    await held[-1].leaving()
    # It waited for the new instant, about two windows (the hold) after the old one.
    assert sum(sleeps.delays[asked:]) > 1.5
    await one.aclose()


async def test_a_process_that_books_nothing_registers_again_when_its_listener_returns(
    server: RedisServer,
) -> None:
    quota = new_quota(LIMIT)
    idle, busy = limiter(server), limiter(server)
    held = await book(idle, quota, LIMIT)  # then it books nothing: its sends just leave
    server.restart()
    # Its moves listener reconnects and subscribes again; that is when it checks the epoch.
    await until(lambda: idle.stats.reregistered == LIMIT)
    fresh = await book(busy, quota, LIMIT)
    assert worst(await instants(server, quota, held + fresh)) <= LIMIT
    await idle.aclose()
    await busy.aclose()
