"""The span and metrics of publish calls: accepted, 429 then accepted, unknown, failover."""

from __future__ import annotations

import anyio
import httpx
import pytest
from opentelemetry.trace import SpanKind, StatusCode
from trio.testing import MockClock

from rongpub import (
    DeliveryUnknownError,
    PublishResult,
    Quota,
    RateLimits,
    RejectedError,
    RetryPolicy,
    RongCloud,
    TextMessage,
)

from ..mock_api import OK, MockAPI, reply
from .conftest import Otel

pytestmark = pytest.mark.anyio

DURATION = "messaging.client.operation.duration"
SENT = "messaging.client.sent.messages"


class InstantLimiter:
    """Grants after `delay` seconds; records pauses."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.pauses: list[float | None] = []

    async def acquire(self, quota: Quota, cost: int) -> None:
        if self.delay:
            await anyio.sleep(self.delay)

    async def pause(self, quota: Quota, seconds: float | None) -> None:
        self.pauses.append(seconds)

    async def aclose(self) -> None:
        return None


async def publish(rc: RongCloud, *groups: str) -> PublishResult:
    return await rc.publish_group(
        from_user_id="u", group_ids=list(groups or ["g1"]), content=TextMessage(content="hi")
    )


async def test_an_accepted_send_is_a_client_span_and_counts_its_targets(otel: Otel) -> None:
    api = MockAPI()
    limits = RateLimits()
    async with api.client(rate_limits=limits, limiter=InstantLimiter(), **otel.providers) as rc:
        result = await publish(rc, "g1", "g2", "g3")
        await rc.publish_chatroom(
            from_user_id="u", chatroom_ids=["r1"], content="x", object_name="C:X"
        )
    (span,) = otel.spans("send group")
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    attributes = dict(span.attributes or {})
    waited = attributes.pop("rongpub.quota.wait", 0.0)
    assert isinstance(waited, float) and waited >= 0  # seconds, on the event loop's clock
    assert attributes == {
        "messaging.system": "rongcloud",
        "messaging.operation.name": "send",
        "messaging.operation.type": "send",
        "messaging.batch.message_count": 3,
        "rongpub.request_id": result.request_id,
        "server.address": "primary.test",
    }
    assert span.events == ()
    (room,) = otel.spans("send chatroom")
    assert (room.attributes or {})["messaging.destination.name"] == "r1"
    assert "messaging.batch.message_count" not in (room.attributes or {})
    assert otel.total(SENT, **{"messaging.destination.template": "group"}) == 3
    assert otel.total(SENT, **{"messaging.destination.template": "chatroom"}) == 1
    durations = otel.metrics()[DURATION]
    assert sorted(point["messaging.destination.template"] for point, _ in durations) == [
        "chatroom",
        "group",
    ]
    assert all("error.type" not in point for point, _ in durations)
    assert otel.total("rongpub.quota.wait", **{"messaging.destination.template": "group"}) == 1
    for name in ("rongpub.rate_limited", "rongpub.retries", "rongpub.failovers"):
        assert otel.total(name) == 0


async def test_a_429_then_success_shows_the_answer_and_the_retry(otel: Otel) -> None:
    api = MockAPI(reply(429, 1008, "too fast", Retry_After="0"))
    limiter = InstantLimiter()
    async with api.client(rate_limits=RateLimits(), limiter=limiter, **otel.providers) as rc:
        await publish(rc)
    assert limiter.pauses == [0.0]
    tally = rc._sender.telemetry.tally  # what `rongpub fanout` prints at the end
    assert (tally.rate_limited, tally.retries, tally.failovers, tally.quota_waits) == (1, 1, 0, 2)
    (span,) = otel.spans("send group")
    assert span.status.status_code is StatusCode.UNSET
    (event,) = span.events
    assert event.name == "rongpub.attempt_failed"
    assert dict(event.attributes or {}) == {
        "server.address": "primary.test",
        "error.type": "RateLimitedError",
        "http.response.status_code": 429,
        "rongpub.code": 1008,
    }
    assert otel.total("rongpub.rate_limited") == 1
    assert otel.total("rongpub.retries", **{"error.type": "RateLimitedError"}) == 1
    assert otel.total(SENT) == 1
    assert otel.total("rongpub.quota.wait") == 2  # one wait per attempt


async def test_an_unknown_outcome_is_an_error_span_and_counted(otel: Otel) -> None:
    api = MockAPI(reply(500, 500, "oops"), httpx.ReadTimeout("slow"))
    async with api.client(**otel.providers) as rc:
        for _ in range(2):
            with pytest.raises(DeliveryUnknownError):
                await publish(rc, "g1", "g2")
    spans = otel.spans("send group")
    assert [span.status.status_code for span in spans] == [StatusCode.ERROR] * 2
    assert [(s.attributes or {})["error.type"] for s in spans] == ["DeliveryUnknownError"] * 2
    assert (spans[0].attributes or {})["rongpub.code"] == 500
    assert otel.total("rongpub.unknown_outcomes") == 4  # two sends of two targets
    assert otel.total(SENT) == 0
    assert otel.total(DURATION, **{"error.type": "DeliveryUnknownError"}) == 2
    assert otel.total("rongpub.retries") == 0  # RetryPolicy(unknown=0): never resent


async def test_a_retried_unknown_and_a_failover_are_counted(otel: Otel) -> None:
    api = MockAPI(httpx.ConnectError("refused"), reply(503, 503), httpx.Response(200, content=OK))
    async with api.client(retry=RetryPolicy(unknown=1), **otel.providers) as rc:
        await publish(rc)
    hosts = [request.url.host for request in api.requests]
    # The 503 came right after a switch: within the cooldown the host is kept.
    assert hosts == ["primary.test", "backup.test", "backup.test"]
    (span,) = otel.spans("send group")
    assert (span.attributes or {})["server.address"] == "backup.test"
    assert [(e.attributes or {})["error.type"] for e in span.events] == [
        "ConnectionFailedError",
        "DeliveryUnknownError",
    ]
    assert otel.total("rongpub.failovers", **{"error.type": "ConnectionFailedError"}) == 1
    assert otel.total("rongpub.failovers") == 1
    assert otel.total("rongpub.retries", **{"error.type": "DeliveryUnknownError"}) == 1
    assert otel.total(DURATION, **{"server.address": "backup.test"}) == 1


async def test_a_rejection_names_its_code_on_the_span(otel: Otel) -> None:
    api = MockAPI(reply(200, 1002, "bad group"))
    async with api.client(**otel.providers) as rc:
        with pytest.raises(RejectedError):
            await publish(rc)
    (span,) = otel.spans("send group")
    assert (span.attributes or {})["error.type"] == "RejectedError"
    assert (span.attributes or {})["rongpub.code"] == 1002
    assert "code 1002: bad group" in (span.status.description or "")
    assert otel.total("rongpub.unknown_outcomes") == 0


async def test_the_send_span_is_current_while_the_request_is_made(otel: Otel) -> None:
    from opentelemetry import trace

    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(format(trace.get_current_span().get_span_context().span_id, "016x"))
        return httpx.Response(200, content=OK)

    async with MockAPI(default=answer).client(**otel.providers) as rc:
        await publish(rc)
    (span,) = otel.spans("send group")
    assert seen == [format(span.context.span_id, "016x")]
    assert trace.get_current_span() is trace.INVALID_SPAN  # restored after the call


@pytest.mark.parametrize("anyio_backend", [("trio", {"clock": MockClock(autojump_threshold=0)})])
async def test_the_quota_wait_is_measured_on_the_event_loop_clock(otel: Otel) -> None:
    limiter = InstantLimiter(delay=0.25)
    async with MockAPI().client(rate_limits=RateLimits(), limiter=limiter, **otel.providers) as rc:
        await publish(rc)
    (span,) = otel.spans("send group")
    assert (span.attributes or {})["rongpub.quota.wait"] == 0.25
    assert otel.histogram_sum("rongpub.quota.wait") == 0.25
    assert otel.histogram_sum(DURATION) == 0.25  # the whole call: here all of it was the wait
