"""Fixtures of the Redis tests: `redis_url` (one redis-server per session, shared) and
`server` (a redis-server of the test's own, to kill, restart or stop)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .server import RedisServer, redis_url, running_server

__all__ = ["redis_url", "server"]


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with running_server() as started:
        yield started
