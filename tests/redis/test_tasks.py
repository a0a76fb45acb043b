"""The Redis limiter's background work has an owner: the task group `async with` opens, or
one the limiter opens on first use and `aclose()` ends; a failed task's error surfaces."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from rongpub._redis.tasks import Background
from rongpub.redis import RedisLimiter

from .fakes import new_quota

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """The lazily opened group runs in an asyncio task (the limiter runs on asyncio only)."""
    return "asyncio"


def others() -> set[asyncio.Task[object]]:
    """Tasks other than the test's own."""
    return asyncio.all_tasks() - {asyncio.current_task()}


def boom(raised: BaseException) -> bool:
    """Whether `raised` (an exception group, from a task group) holds `ValueError("boom")`."""
    nested = getattr(raised, "exceptions", None)
    if nested is None:
        return isinstance(raised, ValueError) and str(raised) == "boom"
    return any(boom(each) for each in nested)


async def test_async_with_runs_the_listener_in_the_callers_group(redis_url: str) -> None:
    before = others()
    async with RedisLimiter.from_url(redis_url, lead=0.0) as limiter:
        await limiter.acquire(new_quota(5), 1)  # subscribes: the listener starts
        assert len(others() - before) == 1  # the listener, a child of the group
    assert others() == before


async def test_without_async_with_aclose_ends_the_group_it_opened(redis_url: str) -> None:
    before = others()
    limiter = RedisLimiter.from_url(redis_url, lead=0.0)
    await limiter.acquire(new_quota(5), 1)
    assert len(others() - before) == 2  # the task holding the group, and the listener
    await limiter.aclose()
    assert others() == before


async def test_a_failed_task_is_raised_by_aclose() -> None:
    tasks = Background()

    async def fail() -> None:
        raise ValueError("boom")

    tasks.start_soon(fail)
    with pytest.raises(Exception) as raised:
        await tasks.aclose()
    assert boom(raised.value)


async def test_a_failed_task_is_raised_out_of_async_with() -> None:
    async def fail() -> None:
        raise ValueError("boom")

    with pytest.raises(Exception) as raised:
        async with Background() as tasks:
            tasks.start_soon(fail)
            await anyio.sleep_forever()  # cancelled by the failure
    assert boom(raised.value)


async def test_aclose_waits_for_the_work_under_way_and_starts_no_more() -> None:
    done: list[int] = []

    async def work() -> None:
        await anyio.lowlevel.checkpoint()
        done.append(1)

    for tasks in (Background(), await Background().__aenter__()):
        tasks.start_soon(work)
        await tasks.aclose()
        with pytest.raises(RuntimeError, match="closed"):
            tasks.start_soon(work)
    assert done == [1, 1]
