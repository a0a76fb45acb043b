"""RedisLimiter against a real Redis: cancellation, the shared pause, TTLs, arguments.

Two limiters on two clients stand for two processes. Sleeps are recorded, not waited out,
so the delays asserted are the ones Redis computed.
"""

from __future__ import annotations

import anyio
import pytest
from redis.asyncio import Redis
from redis.crc import key_slot

from rongpub import InvalidRequestError, Quota
from rongpub._redis.store import quota_keys
from rongpub.redis import RedisLimiter

from .conftest import Factory
from .fakes import RecordingLimiter, Sleeps, new_quota

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """redis-py's asyncio client runs on asyncio only (trio: see test_redis_backend.py)."""
    return "asyncio"


def log_key(quota: Quota) -> str:
    return quota_keys("rongpub", quota).log


def pause_key(quota: Quota) -> str:
    return quota_keys("rongpub", quota).pause


async def test_a_cancelled_waiter_gives_its_reservation_back(
    make_limiter: Factory, redis: Redis
) -> None:
    quota = new_quota(2)
    sender = make_limiter(sleep=Sleeps())
    waiting = Sleeps(block=True)
    waiter = make_limiter(sleep=waiting)
    await sender.acquire(quota, 2)
    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter.acquire, quota, 2)
        await waiting.wait_for(1)
        tg.cancel_scope.cancel()
    assert await redis.zcard(log_key(quota)) == 1
    # Had the cancelled booking stayed, the next would come a whole window later.
    after = Sleeps()
    await make_limiter(sleep=after).acquire(quota, 2)
    assert 0 < after.delays[0] <= 1.0


async def test_a_pause_holds_new_reservations_in_every_process(make_limiter: Factory) -> None:
    quota = new_quota(5)
    sleeps = Sleeps()
    await make_limiter().pause(quota, 2.0)
    await make_limiter(sleep=sleeps).acquire(quota, 1)
    assert 1.5 < sleeps.delays[0] <= 2.0


async def test_a_pause_without_seconds_lasts_one_window_and_margin(make_limiter: Factory) -> None:
    quota = new_quota(5, margin=0.25, window=1.0)
    sleeps = Sleeps()
    await make_limiter().pause(quota, None)
    await make_limiter(sleep=sleeps).acquire(quota, 1)
    assert 1.0 < sleeps.delays[0] <= 1.25


async def test_a_pause_holds_later_bookings_but_not_those_already_made(
    make_limiter: Factory,
) -> None:
    quota = new_quota(3)
    filler, sleeps = make_limiter(sleep=Sleeps()), Sleeps()
    sender = make_limiter(sleep=sleeps)
    await filler.acquire(quota, 3)
    await sender.acquire(quota, 1)
    await filler.pause(quota, 5.0)
    await sender.acquire(quota, 1)
    assert 0.5 < sleeps.delays[0] <= 1.0
    assert 4.5 < sleeps.delays[1] <= 5.0


@pytest.mark.parametrize("slack", [0.0, 0.25])
async def test_bookings_sharing_a_window_are_window_margin_and_slack_apart(
    make_limiter: Factory, slack: float
) -> None:
    quota = new_quota(1, margin=0.125)
    sleeps = Sleeps()
    limiter = make_limiter(sleep=sleeps, slack=slack)
    await limiter.acquire(quota, 1)
    await limiter.acquire(quota, 1)
    assert 1.125 + slack - 0.1 < sleeps.delays[1] <= 1.125 + slack


async def test_a_shorter_pause_does_not_cut_a_longer_one(make_limiter: Factory) -> None:
    quota = new_quota(5)
    limiter = make_limiter()
    await limiter.pause(quota, 3.0)
    await limiter.pause(quota, 0.5)
    sleeps = Sleeps()
    await make_limiter(sleep=sleeps).acquire(quota, 1)
    assert sleeps.delays[0] > 2.5


async def test_keys_expire_once_their_window_is_over(make_limiter: Factory, redis: Redis) -> None:
    quota = new_quota(2, window=0.05)
    limiter = make_limiter()
    await limiter.acquire(quota, 2)
    await limiter.pause(quota, 0.05)
    log_ttl, pause_ttl = await redis.pttl(log_key(quota)), await redis.pttl(pause_key(quota))
    assert 0 < log_ttl <= 51
    assert 0 < pause_ttl <= 51
    await anyio.sleep(0.2)  # a real server's expiry, not timing under test
    assert await redis.exists(log_key(quota), pause_key(quota)) == 0


async def test_the_log_ttl_covers_reservations_booked_ahead(
    make_limiter: Factory, redis: Redis
) -> None:
    quota = new_quota(1)
    limiter = make_limiter(sleep=Sleeps())
    for _ in range(3):
        await limiter.acquire(quota, 1)
    assert 2_000 < await redis.pttl(log_key(quota)) <= 3_001


def test_keys_share_one_cluster_slot_per_quota() -> None:
    quota = new_quota(1)
    assert key_slot(log_key(quota).encode()) == key_slot(pause_key(quota).encode())
    assert quota.scope in log_key(quota) and quota.api in log_key(quota)


@pytest.mark.parametrize("cost", [0, 4])
async def test_a_cost_outside_one_to_limit_is_refused(make_limiter: Factory, cost: int) -> None:
    with pytest.raises(InvalidRequestError, match="cost"):
        await make_limiter().acquire(new_quota(3), cost)


async def test_aclose_closes_the_fallback(redis_url: str) -> None:
    fallback = RecordingLimiter()
    limiter = RedisLimiter.from_url(redis_url, fallback=fallback)
    await limiter.acquire(new_quota(1), 1)
    await limiter.aclose()
    assert fallback.closed and not fallback.acquired


async def test_a_client_given_by_the_caller_stays_open(redis: Redis) -> None:
    limiter = RedisLimiter(redis)
    await limiter.acquire(new_quota(1), 1)
    await limiter.aclose()
    assert await redis.ping()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("fallback", "elsewhere"),
        ("interval", -0.001),
        ("share", 0),
        ("slack", -0.01),
        ("slack", 1.0),
        ("lead", -0.01),
        ("lead", 1.0),
    ],
)
async def test_bad_options_are_refused(redis: Redis, option: str, value: object) -> None:
    with pytest.raises(InvalidRequestError, match=option):
        RedisLimiter(redis, **{option: value})  # type: ignore[arg-type]
