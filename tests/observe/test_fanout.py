"""A fan-out's span, its targets by status, and its log lines."""

from __future__ import annotations

import logging

import httpx
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from rongpub import FanoutAborted, TextMessage

from ..mock_api import MockAPI, reply
from .conftest import Otel

pytestmark = pytest.mark.anyio


def _fail_g5(request: httpx.Request) -> httpx.Response:
    body = request.content.decode()
    if "toGroupId=g5" in body:
        return reply(200, 1002, "no such group")
    if "toGroupId=g6" in body:
        return reply(504, 504)
    return httpx.Response(200, json={"code": 200})


async def test_a_fanout_is_a_span_and_counts_its_targets_by_status(
    otel: Otel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rongpub")
    groups = [f"g{i}" for i in range(10)]
    async with MockAPI(default=_fail_g5).client(**otel.providers) as rc:
        report = await rc.fanout_group(
            groups, from_user_id="u", content=TextMessage(content="hi"), pack_size=1
        )
    assert (report.sent, report.failed, report.unknown) == (8, 1, 1)
    (span,) = otel.spans("fanout group")
    assert span.kind is SpanKind.INTERNAL
    assert span.status.status_code is StatusCode.UNSET
    attributes = dict(span.attributes or {})
    assert attributes == {
        "messaging.system": "rongcloud",
        "messaging.destination.template": "group",
        "rongpub.fanout.total": 10,
        "rongpub.fanout.sent": 8,
        "rongpub.fanout.failed": 1,
        "rongpub.fanout.unknown": 1,
    }
    sends = otel.spans("send group")
    assert len(sends) == 10
    assert all(send.parent is None for send in sends)  # not one trace per run
    for status, count in (("sent", 8), ("failed", 1), ("unknown", 1)):
        assert otel.total("rongpub.fanout.targets", **{"rongpub.status": status}) == count
    assert otel.total("messaging.client.sent.messages") == 8
    assert otel.total("rongpub.unknown_outcomes") == 1
    lines = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert [line[:2] for line in lines] == [("rongpub.fanout", "INFO")] * 2
    assert lines[0][2].startswith("fan-out to group targets started: 10 targets")
    assert lines[1][2].startswith("fan-out to group targets finished: 8 sent, 1 failed, 1 unknown")


async def test_an_aborted_fanout_warns_and_marks_its_span(
    otel: Otel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rongpub")
    api = MockAPI(default=lambda request: reply(200, 1004, "bad signature"))
    async with api.client(**otel.providers) as rc:
        with pytest.raises(FanoutAborted):
            await rc.fanout_group(
                ["g1", "g2"], from_user_id="u", content=TextMessage(content="hi"), pack_size=1
            )
    (span,) = otel.spans("fanout group")
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "FanoutAborted"
    (last,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert last.name == "rongpub.fanout"
    assert "aborted" in last.getMessage() and "1004" in last.getMessage()
