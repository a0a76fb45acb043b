"""Log lines a person can follow, and nothing secret in any span, metric or log record."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rongpub import (
    DeliveryUnknownError,
    FanoutAborted,
    RateLimits,
    RejectedError,
    RetryPolicy,
    TextMessage,
)

from ..mock_api import OK, MockAPI, reply
from .conftest import Otel
from .test_send import InstantLimiter, publish

pytestmark = pytest.mark.anyio

SECRET = "Ab3Xy9secret"  # MockAPI's app secret


async def _every_path(api: MockAPI, otel: Otel) -> None:
    """Accepted, 429 then accepted, failover, unknown, rejected, a fan-out and an abort."""
    limits = RateLimits()
    options: dict[str, Any] = {"rate_limits": limits, "limiter": InstantLimiter()}
    async with api.client(retry=RetryPolicy(unknown=1), **options, **otel.providers) as rc:
        await publish(rc, "g1", "g2")
        await publish(rc)  # 429, then accepted
        await publish(rc)  # connection refused, failover, accepted
        with pytest.raises(DeliveryUnknownError):
            await publish(rc)  # 502 twice (one retry allowed)
        with pytest.raises(RejectedError):
            await publish(rc)
        report = await rc.fanout_group(
            ["g1", "g2", "g3"], from_user_id="u", content=TextMessage(content="hi")
        )
        assert report.sent == 3
        with pytest.raises(FanoutAborted):
            await rc.fanout_group(["g4"], from_user_id="u", content=TextMessage(content="hi"))


def _answers() -> MockAPI:
    return MockAPI(
        httpx.Response(200, content=OK),
        reply(429, 1008, "slow down", Retry_After="0"),
        httpx.Response(200, content=OK),
        httpx.ConnectError("refused"),
        httpx.Response(200, content=OK),
        reply(502, 502),
        reply(502, 502),
        reply(200, 1002, "no such group"),
        httpx.Response(200, content=OK),
        reply(200, 1004, "signature rejected"),
    )


def _span_texts(otel: Otel) -> Iterator[str]:
    for span in otel.spans():
        yield span.name
        yield str(span.status.description)
        yield from map(str, (span.attributes or {}).values())
        for event in span.events:
            yield event.name
            yield from map(str, (event.attributes or {}).values())


def _metric_values(otel: Otel) -> set[str]:
    return {
        str(value)
        for points in otel.metrics().values()
        for attributes, _ in points
        for value in attributes.values()
    }


async def test_no_secret_signature_or_nonce_anywhere_even_at_debug(
    otel: Otel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="rongpub")
    api = _answers()
    await _every_path(api, otel)
    assert len(api.requests) == 10
    needles = {SECRET}
    for request in api.requests:
        needles |= {request.headers["Signature"], request.headers["Nonce"]}
    logs = [record.getMessage() for record in caplog.records]
    logs += [repr(record.args) for record in caplog.records]
    texts = [*_span_texts(otel), *_metric_values(otel), *logs]
    assert len(caplog.records) > 10 and len(texts) > 100
    assert [needle for needle in needles for text in texts if needle in text] == []


async def test_metric_attributes_hold_no_target_id(otel: Otel) -> None:
    await _every_path(_answers(), otel)
    values = _metric_values(otel)
    assert "group" in values
    assert not {"g1", "g2", "g3", "g4"} & values


async def test_the_happy_path_logs_nothing_above_debug(
    otel: Otel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="rongpub")
    async with MockAPI().client(**otel.providers) as rc:
        for _ in range(3):
            await publish(rc)
    assert [record.levelno for record in caplog.records] == [logging.DEBUG] * 3
    assert "accepted by https://primary.test in" in caplog.records[0].getMessage()


async def test_trouble_is_logged_at_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="rongpub")
    async with _answers().client(retry=RetryPolicy(unknown=1)) as rc:
        await publish(rc)
        await publish(rc)
        await publish(rc)
        with pytest.raises(DeliveryUnknownError):
            await publish(rc)
    lines = [(record.name, record.levelname, record.getMessage()) for record in caplog.records]
    assert [line[:2] for line in lines] == [("rongpub.send", "WARNING")] * 3
    assert "rate limited by the server (HTTP 429, code 1008, Retry-After 0 s)" in lines[0][2]
    assert "failing over from https://primary.test to https://backup.test" in lines[1][2]
    assert "HTTP 502" in lines[2][2] and "retry 1 of 1: it may be delivered twice" in lines[2][2]


def test_a_limiter_outage_and_its_end_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    from rongpub import LimiterUnavailableError, SlidingWindowLimiter
    from rongpub._redis.outage import Outage

    caplog.set_level(logging.INFO, logger="rongpub")
    outage = Outage(SlidingWindowLimiter(), retry_interval=1.0, clock=lambda: 0.0)
    with pytest.warns(RuntimeWarning, match="falls back to SlidingWindowLimiter"):
        outage.begin(LimiterUnavailableError("Redis timed out"))
    outage.begin(LimiterUnavailableError("Redis timed out"))  # the same outage: not again
    outage.end()
    lines = [(record.name, record.levelname, record.getMessage()) for record in caplog.records]
    assert lines == [
        ("rongpub.redis", "WARNING", "Redis timed out; falling back to SlidingWindowLimiter"),
        ("rongpub.redis", "WARNING", "Redis answers again: the shared quota is back in use"),
    ]
