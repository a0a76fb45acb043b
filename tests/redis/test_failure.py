"""RedisLimiter when Redis fails: killed, restarted, slow; fail closed or fall back.

Each test owns a private redis-server, so killing it disturbs nobody else.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import anyio
import pytest
from redis.asyncio import Redis

from rongpub import LimiterUnavailableError, Quota
from rongpub._redis.store import quota_keys
from rongpub.redis import RedisLimiter
from rongpub.testing import RedisServer

from .fakes import RecordingLimiter, Sleeps, new_quota

pytestmark = pytest.mark.anyio

TASKS, ROUNDS = 10, 5


@pytest.fixture
def anyio_backend() -> str:
    """redis-py's asyncio client runs on asyncio only (trio: see test_redis_backend.py)."""
    return "asyncio"


@pytest.fixture
async def fallback() -> AsyncIterator[RecordingLimiter]:
    yield RecordingLimiter()


class KillingSleeps(Sleeps):
    """Records sleeps and kills the server once `after` reservations were booked."""

    def __init__(self, server: RedisServer, after: int) -> None:
        super().__init__()
        self.server = server
        self.after = after

    async def __call__(self, seconds: float) -> None:
        if len(self.delays) + 1 == self.after:
            self.server.kill()
        await super().__call__(seconds)


async def log_exists(server: RedisServer, quota: Quota) -> bool:
    async with Redis.from_url(server.url) as client:
        return bool(await client.exists(quota_keys("rongpub", quota).log))


async def test_killed_redis_fails_closed(server: RedisServer) -> None:
    quota = new_quota(100)
    limiter = RedisLimiter.from_url(server.url, timeout=0.5)
    await limiter.acquire(quota, 1)
    server.kill()
    with pytest.raises(LimiterUnavailableError, match="Redis did not answer"):
        await limiter.acquire(quota, 1)
    with pytest.raises(LimiterUnavailableError):
        await limiter.pause(quota, 1.0)
    await limiter.aclose()


async def test_redis_killed_mid_run_fails_every_later_acquisition_closed(
    server: RedisServer,
) -> None:
    quota = new_quota(1000)
    sleeps = KillingSleeps(server, after=TASKS * ROUNDS // 2)
    limiter = RedisLimiter.from_url(server.url, timeout=0.5, sleep=sleeps, lead=0.0)
    failed: list[LimiterUnavailableError] = []

    async def sender() -> None:
        try:
            for _ in range(ROUNDS):
                await limiter.acquire(quota, 1)
        except LimiterUnavailableError as exc:
            failed.append(exc)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for _ in range(TASKS):
                tg.start_soon(sender)
    await limiter.aclose()
    assert failed
    assert len(sleeps.delays) < TASKS * ROUNDS


async def test_redis_killed_mid_run_falls_back_with_one_warning(
    server: RedisServer, fallback: RecordingLimiter
) -> None:
    quota = new_quota(1000)
    sleeps = KillingSleeps(server, after=TASKS * ROUNDS // 2)
    limiter = RedisLimiter.from_url(  # lead 0: one recorded sleep per acquisition
        server.url, timeout=0.5, fallback=fallback, retry_interval=60, sleep=sleeps, lead=0.0
    )

    async def sender() -> None:
        for _ in range(ROUNDS):
            await limiter.acquire(quota, 1)

    with pytest.warns(RuntimeWarning, match="falls back to RecordingLimiter") as warned:
        async with anyio.create_task_group() as tg:
            for _ in range(TASKS):
                tg.start_soon(sender)
    await limiter.aclose()
    assert len(warned) == 1
    assert fallback.acquired
    assert len(sleeps.delays) + len(fallback.acquired) == TASKS * ROUNDS


async def test_the_shared_quota_is_used_again_once_redis_returns(
    server: RedisServer, fallback: RecordingLimiter, caplog: pytest.LogCaptureFixture
) -> None:
    quota = new_quota(100)
    limiter = RedisLimiter.from_url(server.url, timeout=0.5, fallback=fallback, retry_interval=0)
    server.kill()
    with pytest.warns(RuntimeWarning, match="exceed it until Redis answers again"):
        await limiter.acquire(quota, 1)
        await limiter.pause(quota, 0.5)
    assert fallback.acquired == [(quota, 1)] and fallback.paused == [(quota, 0.5)]
    server.start()
    with caplog.at_level(logging.WARNING, logger="rongpub.redis"):
        await limiter.acquire(quota, 1)
    assert "Redis answers again" in caplog.text
    assert fallback.acquired == [(quota, 1)]
    assert await log_exists(server, quota)
    await limiter.aclose()


async def test_a_restarted_redis_is_used_again_without_an_error(server: RedisServer) -> None:
    # The restart drops the loaded script and the pooled connections; both come back.
    quota = new_quota(100)
    limiter = RedisLimiter.from_url(server.url, timeout=0.5)
    await limiter.acquire(quota, 1)
    server.restart()
    await limiter.acquire(quota, 1)
    await limiter.pause(quota, 0.01)
    assert await log_exists(server, quota)
    await limiter.aclose()


@pytest.mark.parametrize("with_fallback", [False, True])
async def test_a_slow_redis_counts_as_unavailable(
    server: RedisServer, fallback: RecordingLimiter, with_fallback: bool
) -> None:
    quota = new_quota(100)
    limiter = RedisLimiter.from_url(
        server.url, timeout=0.2, fallback=fallback if with_fallback else None
    )
    await limiter.acquire(quota, 1)
    async with Redis.from_url(server.url) as admin:
        await admin.client_pause(1000)
    if with_fallback:
        with pytest.warns(RuntimeWarning, match="TimeoutError"):
            await limiter.acquire(quota, 1)
        assert fallback.acquired == [(quota, 1)]
    else:
        with pytest.raises(LimiterUnavailableError, match="TimeoutError"):
            await limiter.acquire(quota, 1)
    await limiter.aclose()


async def test_the_local_fallback_is_the_in_process_limiter(server: RedisServer) -> None:
    quota = new_quota(100)
    limiter = RedisLimiter.from_url(server.url, timeout=0.5, fallback="local")
    server.kill()
    with pytest.warns(RuntimeWarning, match="falls back to SlidingWindowLimiter"):
        await limiter.acquire(quota, 1)
    await limiter.pause(quota, 0.01)
    await limiter.aclose()
