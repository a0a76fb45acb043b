"""The aiolimiter adapter: the Limiter protocol over AsyncLimiter, asyncio only."""

from __future__ import annotations

import asyncio
import sys

import anyio
import pytest
from aiolimiter import AsyncLimiter

from rongpub import InvalidRequestError, Limiter, Quota, QuotaWaitTooLongError
from rongpub.aiolimiter import AioLimiterAdapter

pytestmark = pytest.mark.anyio

GROUP = Quota("app", "group", 20)


@pytest.fixture
def anyio_backend() -> str:
    """aiolimiter is asyncio-only; trio's refusal is tested on its own below."""
    return "asyncio"


async def test_is_a_limiter() -> None:
    assert isinstance(AioLimiterAdapter(), Limiter)


async def test_acquires_the_target_count_from_the_given_limiter() -> None:
    mine = AsyncLimiter(5, 1)
    adapter = AioLimiterAdapter({"group": mine})
    await adapter.acquire(GROUP, 3)
    await adapter.acquire(Quota("other app", "group", 20), 2)  # shared by every app key
    assert not mine.has_capacity(1)
    await adapter.aclose()


async def test_makes_one_limiter_per_app_key_and_api_when_none_is_given() -> None:
    adapter = AioLimiterAdapter()
    await adapter.acquire(Quota("app", "chatroom", 10), 10)
    await adapter.acquire(Quota("app", "group", 10), 10)
    await adapter.acquire(Quota("other", "chatroom", 10), 10)
    made = adapter._made
    assert sorted(made) == [("app", "chatroom"), ("app", "group"), ("other", "chatroom")]
    assert all(lim.max_rate == 10 and lim.time_period == 1.0 for lim in made.values())


async def test_pause_holds_senders_of_that_quota_only() -> None:
    adapter = AioLimiterAdapter()
    await adapter.pause(GROUP, 60.0)
    held = asyncio.ensure_future(adapter.acquire(GROUP, 1))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not held.done()
    await adapter.acquire(Quota("app", "chatroom", 20), 1)  # another API is not held
    held.cancel()
    with pytest.raises(asyncio.CancelledError):
        await held


async def test_pause_without_retry_after_holds_one_window() -> None:
    adapter = AioLimiterAdapter()
    loop = asyncio.get_running_loop()
    await adapter.pause(Quota("app", "group", 20, margin=0.5), None)
    assert adapter._paused_until[("app", "group")] - loop.time() == pytest.approx(1.5, abs=0.1)


@pytest.mark.parametrize("cost", [0, 6])
async def test_cost_must_fit_the_quota_and_the_limiter(cost: int) -> None:
    adapter = AioLimiterAdapter({"group": AsyncLimiter(5, 1)})
    with pytest.raises(InvalidRequestError, match="between 1 and 5"):
        await adapter.acquire(GROUP, cost)


def test_trio_gets_a_clear_error() -> None:
    adapter = AioLimiterAdapter()

    async def use() -> None:
        with pytest.raises(RuntimeError, match="asyncio only"):
            await adapter.acquire(GROUP, 1)
        with pytest.raises(RuntimeError, match="asyncio only"):
            await adapter.pause(GROUP, None)

    anyio.run(use, backend="trio")


def test_without_aiolimiter_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aiolimiter", None)
    with pytest.raises(ImportError, match=r"pip install 'rongpub\[aiolimiter\]'"):
        AioLimiterAdapter()


async def test_lanes_are_accepted_and_max_wait_is_kept() -> None:
    mine = AsyncLimiter(2, 1)
    adapter = AioLimiterAdapter({"group": mine})
    await adapter.acquire(GROUP, 2, lane="bulk", max_wait=5.0)
    with pytest.raises(QuotaWaitTooLongError) as at_once:
        await adapter.acquire(GROUP, 1, max_wait=0)
    assert at_once.value.max_wait == 0
    with pytest.raises(QuotaWaitTooLongError):  # the bucket drains 2/s: 1 unit in ~0.5 s
        await adapter.acquire(GROUP, 2, max_wait=0.01)
    await adapter.pause(GROUP, 30.0)
    with pytest.raises(QuotaWaitTooLongError) as paused:
        await adapter.acquire(GROUP, 1, max_wait=1.0)
    assert paused.value.wait > 1.0
    await adapter.aclose()
