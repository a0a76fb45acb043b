"""Fixtures of the Redis tests: `redis_url` (one redis-server per session, shared) and
`server` (a redis-server of the test's own, to kill, restart or stop)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator

import pytest

from rongpub._redis.server import REDIS_SERVER
from rongpub.testing import RedisServer

__all__ = ["redis_url", "running_server", "server"]


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
