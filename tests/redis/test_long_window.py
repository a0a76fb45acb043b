"""The Redis reservation script with the private quota's 60 s window (issue #18): bookings are
Redis instants, so a minute's worth is checked without waiting for it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .fakes import new_quota
from .test_window import Clients, width_us, worst_window

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """redis-py's asyncio client runs on asyncio only."""
    return "asyncio"


@pytest.fixture
async def clients(redis_url: str) -> AsyncIterator[Clients]:
    pool = Clients(redis_url, 3)
    yield pool
    await pool.aclose()


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    limit=st.sampled_from([1, 5, 60, 6000]),
    costs=st.lists(st.integers(1, 1000), min_size=1, max_size=30),
)
async def test_no_60_s_window_holds_more_than_the_limit(
    clients: Clients, limit: int, costs: list[int]
) -> None:
    quota = new_quota(limit, margin=0.01, window=60.0)
    bookings = await clients.book_all(quota, [min(cost, limit) for cost in costs])
    assert worst_window(bookings, width_us(quota)) <= limit


async def test_a_full_minute_books_the_next_send_a_window_later(clients: Clients) -> None:
    quota = new_quota(6000, margin=0.01, window=60.0)
    first = await clients.book_all(quota, [1000] * 6)
    [late] = await clients.book_all(quota, [500])
    start = min(booking.instant for booking in first)
    assert late.instant - start >= width_us(quota)  # 60.01 s after the first pack
