"""Without an SDK configured, and without opentelemetry at all, sending works the same."""

from __future__ import annotations

import logging
import subprocess
import sys

import httpx
import pytest
from opentelemetry import trace

from rongpub import RateLimitedError, RetryPolicy, TextMessage
from rongpub._observe.telemetry import Telemetry

from ..mock_api import MockAPI, reply
from .test_send import publish

pytestmark = pytest.mark.anyio


async def test_without_an_sdk_spans_do_not_record_and_nothing_breaks() -> None:
    recording: list[bool] = []

    def answer(request: httpx.Request) -> httpx.Response:
        recording.append(trace.get_current_span().is_recording())
        return httpx.Response(200, json={"code": 200})

    assert Telemetry().instruments is not None  # the API is installed: the global proxies
    async with MockAPI(reply(500, 500), default=answer).client(retry=RetryPolicy(unknown=1)) as rc:
        await publish(rc)
        report = await rc.fanout_group(
            ["g1", "g2"], from_user_id="u", content="x", object_name="C:X"
        )
    assert report.sent == 2
    assert recording == [False, False]


async def test_without_opentelemetry_the_record_only_logs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # `import opentelemetry` fails
    monkeypatch.delitem(sys.modules, "rongpub._observe.instruments", raising=False)
    assert Telemetry().instruments is None
    caplog.set_level(logging.DEBUG, logger="rongpub")
    limited = reply(429, 1008, Retry_After="0")
    answers = MockAPI(limited, httpx.Response(200, json={"code": 200}), limited, limited)
    async with answers.client(retry=RetryPolicy(rate_limited=1)) as rc:
        await publish(rc)  # 429, retried, accepted
        with pytest.raises(RateLimitedError):
            await publish(rc, "g1", "g2")  # 429 twice
        report = await rc.fanout_group(["g1"], from_user_id="u", content=TextMessage(content="x"))
    assert report.sent == 1
    assert "opentelemetry.trace" not in sys.modules or sys.modules["opentelemetry"] is None
    levels = [(record.name, record.levelname) for record in caplog.records]
    assert levels.count(("rongpub.send", "WARNING")) == 2  # a retry in each send
    assert ("rongpub.fanout", "INFO") in levels
    messages = [record.getMessage() for record in caplog.records]
    assert any("ended with RateLimitedError" in message for message in messages)


_LATE_SDK = """
import anyio, httpx
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from rongpub import RongCloud

async def main():
    ok = httpx.MockTransport(lambda request: httpx.Response(200, json={"code": 200}))
    http = httpx.AsyncClient(transport=ok)
    async with RongCloud("k", "s", base_urls=["https://h.test"], http_client=http) as rc:
        send = lambda: rc.publish_group(from_user_id="u", group_ids=["g1"], content="x",
                                        object_name="C:X")
        await send()  # no SDK yet: nothing recorded
        spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(spans))
        trace.set_tracer_provider(provider)
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        await send()  # the same client, the SDK set since
    names = [m.name for r in reader.get_metrics_data().resource_metrics
             for s in r.scope_metrics for m in s.metrics]
    print([span.name for span in spans.get_finished_spans()], sorted(names))

anyio.run(main)
"""


def test_an_sdk_set_after_the_client_was_made_gets_the_data() -> None:
    """The global providers are set once per process: this runs in a process of its own."""
    run = subprocess.run(
        [sys.executable, "-c", _LATE_SDK], capture_output=True, text=True, timeout=60, check=True
    )
    duration, sent = "messaging.client.operation.duration", "messaging.client.sent.messages"
    assert run.stdout.strip() == f"['send group'] ['{duration}', '{sent}', 'rongpub.quota.wait']"
