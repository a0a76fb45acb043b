"""The local fallback's hand-over and how an outage begins and ends (issue #13, cases 6-7).

Case 6: `fallback="local"` starts from this process's Redis bookings still in the window, and
what it let go is counted in Redis before Redis books anything new. Case 7: recovery is
declared only when Redis really answered; while Redis is down (or hung) new acquisitions are
not sent to it, except one probe per retry interval; one warning per outage.
"""

from __future__ import annotations

import contextlib
import logging

import anyio
import pytest

from rongpub import LimiterUnavailableError
from rongpub.redis import RedisLimiter
from rongpub.testing import RedisServer

from .fakes import RecordingLimiter, new_quota

pytestmark = pytest.mark.anyio

LIMIT = 10


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_the_local_fallback_counts_the_redis_bookings_still_due(
    server: RedisServer,
) -> None:
    quota = new_quota(LIMIT)
    limiter = RedisLimiter.from_url(server.url, timeout=1.0, fallback="local", lead=0.0)
    for _ in range(LIMIT):  # the whole window's quota, booked in Redis and sent
        departure = await limiter.acquire(quota, 1)
        assert departure is not None
        await departure.leaving()
    server.kill()
    with pytest.warns(RuntimeWarning, match="falls back"):
        with anyio.move_on_after(0.5) as waited:
            await limiter.acquire(quota, 1)
    assert waited.cancelled_caught  # the local limiter saw the window full
    await limiter.aclose()


async def test_what_the_local_fallback_let_go_is_counted_in_redis_first(
    server: RedisServer,
) -> None:
    quota = new_quota(LIMIT)
    limiter = RedisLimiter.from_url(
        server.url, timeout=1.0, fallback="local", lead=0.0, retry_interval=0.0
    )
    await limiter.acquire(quota, 1)  # Redis's clock is known
    await anyio.sleep(1.1)  # that booking is out of every window
    server.kill()
    with pytest.warns(RuntimeWarning, match="falls back"):
        for _ in range(LIMIT):
            departure = await limiter.acquire(quota, 1)
            assert departure is not None
            await departure.leaving()
    server.start()
    with anyio.move_on_after(0.5) as waited:
        await limiter.acquire(quota, 1)
    assert waited.cancelled_caught  # Redis counted the local sends: no room for a second
    await limiter.aclose()


async def test_recovery_is_declared_only_when_redis_answers(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    quota = new_quota(1)  # each booking a window after the last
    fallback = RecordingLimiter()
    limiter = RedisLimiter.from_url(
        server.url, timeout=0.5, fallback=fallback, lead=0.0, retry_interval=60
    )
    await limiter.acquire(quota, 1)
    with caplog.at_level(logging.WARNING, logger="rongpub.redis"):
        async with anyio.create_task_group() as tg:
            tg.start_soon(limiter.acquire, quota, 1)  # sleeps a window on its booking
            await anyio.sleep(0.2)
            server.kill()
            with pytest.warns(RuntimeWarning, match="falls back") as warned:
                await limiter.acquire(quota, 1)
        # The sleeper woke: Redis is still down, and new acquisitions stay off it.
        await limiter.acquire(quota, 1)
    assert "answers again" not in caplog.text
    assert len(warned) == 1
    assert len(fallback.acquired) == 2
    await limiter.aclose()


@pytest.mark.parametrize("with_fallback", [False, True])
async def test_a_hung_redis_is_probed_by_one_acquisition_at_a_time(
    server: RedisServer, with_fallback: bool
) -> None:
    quota = new_quota(100)
    fallback = RecordingLimiter()
    limiter = RedisLimiter.from_url(
        server.url,
        timeout=1.0,
        fallback=fallback if with_fallback else None,
        retry_interval=0.0,
    )
    await limiter.acquire(quota, 1)
    server.freeze()
    with (
        pytest.raises(LimiterUnavailableError)
        if not with_fallback
        else pytest.warns(RuntimeWarning)
    ):
        await limiter.acquire(quota, 1)  # times out: the outage begins
    answered = 0

    async def acquire() -> None:
        nonlocal answered
        with contextlib.suppress(LimiterUnavailableError):
            await limiter.acquire(quota, 1)
        answered += 1

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(acquire)
        await anyio.sleep(0.5)
        # One probes the hung Redis (for up to the timeout); the others did not wait on it.
        assert answered >= 9
    server.thaw()
    await limiter.aclose()


async def test_a_booking_redis_answers_once_an_outage_began_is_taken_locally(
    server: RedisServer,
) -> None:
    """Seen with SIGSTOP under load: a reservation sent before another call timed out is
    answered after that call began the outage; the local fallback, which started from the
    bookings held then, did not count it, and a window held more than the limit."""
    quota = new_quota(LIMIT)
    limiter = RedisLimiter.from_url(
        server.url, timeout=1.0, fallback="local", lead=0.0, retry_interval=60.0
    )
    await limiter.acquire(quota, 1)  # Redis's clock is known; one unit in the window
    store = limiter._booker.store
    reserve, asked, answer = store.reserve, anyio.Event(), anyio.Event()

    async def answered_late(*args: object, **kwargs: object) -> object:
        asked.set()
        await answer.wait()
        return await reserve(*args, **kwargs)  # type: ignore[arg-type]

    async def failing(*args: object, **kwargs: object) -> object:
        raise ConnectionError("timed out")

    async with anyio.create_task_group() as tg:
        store.reserve = answered_late  # type: ignore[method-assign,assignment]
        tg.start_soon(limiter.acquire, quota, LIMIT - 2)
        await asked.wait()
        store.reserve = failing  # type: ignore[method-assign,assignment]
        with pytest.warns(RuntimeWarning, match="falls back"):
            await limiter.acquire(quota, 1)  # the outage begins: one unit, locally
        store.reserve = reserve  # type: ignore[method-assign]
        answer.set()  # Redis answers the first call
    with anyio.move_on_after(0.3) as waited:  # the window holds all ten units
        await limiter.acquire(quota, 1)
    assert waited.cancelled_caught
    await limiter.aclose()
