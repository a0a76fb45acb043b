"""RedisLimiter on each event loop: works on asyncio, refuses trio with a clear error."""

from __future__ import annotations

import pytest

from rongpub import LimiterUnavailableError
from rongpub.redis import RedisLimiter

from .fakes import new_quota

pytestmark = pytest.mark.anyio


async def test_asyncio_books_and_trio_is_refused_with_a_reason(
    anyio_backend: str, redis_url: str
) -> None:
    quota = new_quota(5)
    limiter = RedisLimiter.from_url(redis_url)
    if anyio_backend == "asyncio":
        await limiter.acquire(quota, 1)
        await limiter.pause(quota, 0.01)
    else:
        with pytest.raises(LimiterUnavailableError, match=r"asyncio only.*trio"):
            await limiter.acquire(quota, 1)
        with pytest.raises(LimiterUnavailableError, match="asyncio only"):
            await limiter.pause(quota, 1.0)
    await limiter.aclose()
