"""Fixtures of the Redis tests: `redis_url` (one redis-server per session, shared),
`server` (a redis-server of the test's own, to kill, restart or stop), `redis` (a client for
looking at the keys) and `make_limiter` (limiters on clients of their own, as processes)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from redis.asyncio import Redis

from rongpub._redis.server import REDIS_SERVER
from rongpub.redis import RedisLimiter
from rongpub.testing import RedisServer

__all__ = ["Factory", "make_limiter", "redis", "redis_url", "running_server", "server"]

Factory = Callable[..., RedisLimiter]


@contextlib.contextmanager
def running_server() -> Iterator[RedisServer]:
    """A started server, closed on exit; skips the test when the binary is missing."""
    if not shutil.which(REDIS_SERVER):
        pytest.skip(f"redis-server not found at {REDIS_SERVER} (apt-get install redis-server)")
    with RedisServer() as server:
        yield server


_shared: list[RedisServer] = []


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The URL of a redis-server shared by the whole session (give each test its own keys)."""
    if _shared:
        yield _shared[0].url
        return
    with running_server() as server:
        _shared.append(server)
        try:
            yield server.url
        finally:
            _shared.clear()


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with running_server() as started:
        yield started


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A client for looking at the keys the limiters leave."""
    async with Redis.from_url(redis_url) as client:
        yield client


@pytest.fixture
async def make_limiter(redis_url: str) -> AsyncIterator[Factory]:
    """Builds limiters on their own clients (one per simulated process)."""
    made: list[RedisLimiter] = []
    clients: list[Redis] = []

    def make(**options: Any) -> RedisLimiter:
        options.setdefault("slack", 0.0)  # windows of exactly window + margin, unless asked
        options.setdefault("lead", 0.0)  # one recorded sleep per acquisition, to the instant
        clients.append(Redis.from_url(redis_url))
        made.append(RedisLimiter(clients[-1], **options))
        return made[-1]

    yield make
    for limiter, client in zip(made, clients, strict=True):
        await limiter.aclose()
        await client.aclose()
