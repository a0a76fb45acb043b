"""Lanes, max_wait and the deadline through the client, on asyncio and trio (mock transport)."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest

from rongpub import (
    DeliveryUnknownError,
    GroupMessage,
    InvalidRequestError,
    Lane,
    Quota,
    QuotaWaitTooLongError,
    RateLimitedError,
    RateLimits,
    RongCloud,
    TextMessage,
)
from rongpub._limit.compat import adapt

from .mock_api import MockAPI, reply

pytestmark = pytest.mark.anyio

MESSAGE = GroupMessage(from_user_id="u", content=TextMessage(content="hi"))


class LaneLimiter:
    """Records each acquisition's lane and bound."""

    def __init__(self) -> None:
        self.acquired: list[tuple[str, int, str, float | None]] = []
        self.paused: list[float | None] = []

    async def acquire(
        self, quota: Quota, cost: int, *, lane: Lane = "interactive", max_wait: float | None = None
    ) -> None:
        self.acquired.append((quota.api, cost, lane, max_wait))

    async def pause(self, quota: Quota, seconds: float | None) -> None:
        self.paused.append(seconds)

    async def aclose(self) -> None:
        pass


class Refusing(LaneLimiter):
    """Refuses every acquisition with a bound, as a limiter seeing a long queue does."""

    async def acquire(
        self, quota: Quota, cost: int, *, lane: Lane = "interactive", max_wait: float | None = None
    ) -> None:
        await super().acquire(quota, cost, lane=lane, max_wait=max_wait)
        if max_wait is not None:
            raise QuotaWaitTooLongError(api=quota.api, wait=30.0, max_wait=max_wait)


class OldLimiter:
    """A limiter written before lanes: `acquire(quota, cost)`; blocks once `block` is set."""

    def __init__(self, *, block: bool = False) -> None:
        self.acquired: list[int] = []
        self.block = block

    async def acquire(self, quota: Quota, cost: int) -> None:
        if self.block:
            await anyio.sleep_forever()
        self.acquired.append(cost)

    async def pause(self, quota: Quota, seconds: float | None) -> None:
        pass

    async def aclose(self) -> None:
        pass


async def test_the_lane_and_max_wait_reach_the_limiter() -> None:
    limiter = LaneLimiter()
    async with MockAPI().client(rate_limits=RateLimits(), limiter=limiter, max_wait=2.0) as rc:
        await rc.publish(MESSAGE, to=["g1"])
        await rc.publish(MESSAGE, to=["g1", "g2"], lane="bulk", max_wait=None)
        await rc.publish_group(
            from_user_id="u", group_ids=["g"], content=TextMessage(content="x"), max_wait=0.5
        )
        await rc.publish_chatroom(
            from_user_id="u", chatroom_ids=["c"], content=TextMessage(content="x"), lane="bulk"
        )
        await rc.publish_private(
            from_user_id="u", to_user_ids=["a"], content=TextMessage(content="x"), lane="bulk"
        )
        await rc.publish_system(
            from_user_id="u", to_user_ids=["a"], content=TextMessage(content="x"), max_wait=0.3
        )
        await rc.broadcast_chatroom(from_user_id="u", content=TextMessage(content="x"))
        await rc.broadcast_chatroom(
            from_user_id="u", content=TextMessage(content="x"), lane="bulk", max_wait=None
        )
    assert limiter.acquired == [
        ("group", 1, "interactive", 2.0),
        ("group", 2, "bulk", None),
        ("group", 1, "interactive", 0.5),
        ("chatroom", 1, "bulk", 2.0),
        ("private", 1, "bulk", 2.0),
        ("system", 1, "interactive", 0.3),
        ("broadcast", 1, "interactive", 2.0),
        ("broadcast", 1, "bulk", None),
    ]


async def test_a_fanout_is_bulk_unless_told() -> None:
    limiter = LaneLimiter()
    async with MockAPI().client(rate_limits=RateLimits(), limiter=limiter) as rc:
        await rc.fanout(MESSAGE, ["g1", "g2", "g3", "g4"])
        await rc.fanout_group(
            ["g5"], from_user_id="u", content=TextMessage(content="x"), lane="interactive"
        )
    assert [lane for _, _, lane, _ in limiter.acquired] == ["bulk", "bulk", "interactive"]


async def test_bulk_share_reaches_the_quotas() -> None:
    limiter = LaneLimiter()
    quotas: list[Quota] = []

    class Seeing(LaneLimiter):
        async def acquire(self, quota: Quota, cost: int, **lanes: Any) -> None:
            quotas.append(quota)

    async with MockAPI().client(rate_limits=RateLimits(bulk_share=0.25), limiter=Seeing()) as rc:
        await rc.publish(MESSAGE, to=["g1"])
    assert quotas[0].bulk_share == 0.25
    assert RateLimits().bulk_share == 0.1
    with pytest.raises(InvalidRequestError):
        RateLimits(bulk_share=1.5)
    del limiter


async def test_a_limiter_without_the_keywords_still_works() -> None:
    limiter = OldLimiter()
    assert not isinstance(adapt(limiter), OldLimiter)
    assert adapt(LaneLimiter()).__class__ is LaneLimiter
    api = MockAPI()
    async with api.client(rate_limits=RateLimits(), limiter=limiter) as rc:
        await rc.publish(MESSAGE, to=["g1", "g2"], lane="bulk", max_wait=1.0)
        await rc.fanout(MESSAGE, ["g3"])
    assert limiter.acquired == [2, 1]
    assert len(api.requests) == 2


async def test_max_wait_refuses_at_once_saying_how_long_nothing_sent() -> None:
    api = MockAPI()
    async with api.client(rate_limits=RateLimits(group=1)) as rc:
        await rc.publish(MESSAGE, to=["g1"])
        with pytest.raises(QuotaWaitTooLongError) as caught:
            await rc.publish(MESSAGE, to=["g2"], max_wait=0.1)
    error = caught.value
    assert isinstance(error, RateLimitedError)
    assert 0.5 < error.wait <= 1.1 and error.retry_after == error.wait
    assert error.max_wait == 0.1 and error.api == "group"
    assert len(api.requests) == 1


async def test_a_refusal_is_neither_retried_nor_a_pause() -> None:
    api = MockAPI()
    limiter = Refusing()
    async with api.client(rate_limits=RateLimits(), limiter=limiter) as rc:
        with pytest.raises(QuotaWaitTooLongError) as caught:
            await rc.publish(MESSAGE, to=["g1"], max_wait=0.2)
    assert caught.value.wait == 30.0
    assert len(limiter.acquired) == 1 and limiter.paused == [] and api.requests == []


async def test_the_deadline_while_waiting_for_quota_sends_nothing() -> None:
    api = MockAPI()
    async with api.client(rate_limits=RateLimits(), limiter=OldLimiter(block=True)) as rc:
        with pytest.raises(QuotaWaitTooLongError) as caught:
            await rc.publish(MESSAGE, to=["g1"], deadline=0.05)
    assert caught.value.max_wait == 0.05
    assert api.requests == []


async def test_the_deadline_with_the_request_in_flight_is_unknown() -> None:
    async def never(request: httpx.Request) -> httpx.Response:
        await anyio.sleep_forever()
        raise AssertionError

    http = httpx.AsyncClient(transport=httpx.MockTransport(never))
    rc = RongCloud("key", "secret", base_urls=["https://h.test"], http_client=http, deadline=0.05)
    async with rc:
        with pytest.raises(DeliveryUnknownError):
            await rc.publish(MESSAGE, to=["g1"])
    await http.aclose()


async def test_the_deadline_before_a_retry_raises_the_last_error() -> None:
    api = MockAPI(reply(429, 1008, "slow down", retry_after="5"))
    limiter = LaneLimiter()
    async with api.client(rate_limits=RateLimits(), limiter=limiter) as rc:
        with pytest.raises(RateLimitedError) as caught:
            await rc.publish(MESSAGE, to=["g1"], deadline=1.0)
    assert not isinstance(caught.value, QuotaWaitTooLongError)
    assert caught.value.retry_after == 5.0
    assert limiter.paused == [] and len(api.requests) == 1


async def test_bad_bounds_and_lanes_are_refused_before_sending() -> None:
    api = MockAPI()
    async with api.client() as rc:
        for bad in ({"max_wait": -1.0}, {"deadline": -0.5}, {"lane": "urgent"}):
            with pytest.raises(InvalidRequestError):
                await rc.publish(MESSAGE, to=["g1"], **bad)
    assert api.requests == []
