"""The clients the overhead suite compares, each sending the same group message to one group.

Async clients are context managers yielding `send()`; the official SDK is blocking and is
driven from threads. The bare clients post bytes built once by rongpub (body and signed
headers), so they do no building, signing or decoding: they are the floor an SDK on that
HTTP stack can reach. All pools allow the same number of connections as rongpub's default.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING

import httpx

from rongpub import RongCloud, TextMessage
from rongpub._request import group_template
from rongpub._signing import Credentials

__all__ = ["APP_KEY", "APP_SECRET", "ASYNC_CLIENTS", "official_sdk_send"]

APP_KEY = "bench-app-key"
APP_SECRET = "bench-app-secret"
FROM_USER = "u1"
GROUP = "g1"
TEXT = "hello from the rongpub benchmark"
# As rongpub's own default pool, so a difference is the SDK's, not the pool size's.
LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50)

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExportResult

AsyncSend = Callable[[], Awaitable[object]]
AsyncClient = Callable[[str], AbstractAsyncContextManager[AsyncSend]]


def _prebuilt() -> tuple[str, bytes, dict[str, str]]:
    """Path, body and headers of one signed request, built once with rongpub."""
    request = group_template(from_user_id=FROM_USER, content=TextMessage(content=TEXT)).to([GROUP])
    headers = Credentials(APP_KEY, APP_SECRET).headers()
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    headers["X-Request-ID"] = request.request_id
    return request.path, request.body, headers


def _aiohttp_transport() -> httpx.AsyncBaseTransport:
    from httpx_aiohttp import AiohttpTransport

    return AiohttpTransport(limits=LIMITS)


@asynccontextmanager
async def _bare_httpx(
    url: str, transport: httpx.AsyncBaseTransport | None
) -> AsyncIterator[AsyncSend]:
    path, body, headers = _prebuilt()
    async with httpx.AsyncClient(limits=LIMITS, transport=transport) as client:

        async def send() -> object:
            response = await client.post(url + path, content=body, headers=headers)
            response.raise_for_status()
            return response

        yield send


@asynccontextmanager
async def _rongpub(
    url: str, transport: httpx.AsyncBaseTransport | None
) -> AsyncIterator[AsyncSend]:
    http = None if transport is None else httpx.AsyncClient(transport=transport)
    content = TextMessage(content=TEXT)
    async with RongCloud(
        APP_KEY, APP_SECRET, base_urls=[url], rate_limits=None, http_client=http
    ) as rc:

        async def send() -> object:
            return await rc.publish_group(
                from_user_id=FROM_USER, group_ids=[GROUP], content=content
            )

        yield send
    if http is not None:
        await http.aclose()


@asynccontextmanager
async def _rongpub_without_opentelemetry(url: str) -> AsyncIterator[AsyncSend]:
    """rongpub as when the `otel` extra is not installed: its import blocked while the
    client is made (the client decides then)."""
    blocked = "rongpub._observe.instruments"
    saved = sys.modules.get(blocked)
    sys.modules[blocked] = None  # type: ignore[assignment]
    try:
        client = _rongpub(url, None)
        send = await client.__aenter__()
    finally:
        if saved is None:
            del sys.modules[blocked]
        else:
            sys.modules[blocked] = saved
    try:
        yield send
    finally:
        await client.__aexit__(None, None, None)


@asynccontextmanager
async def _rongpub_otel_sdk(url: str) -> AsyncIterator[AsyncSend]:
    """rongpub with the OpenTelemetry SDK configured as in production, but exporting to
    memory: spans through a BatchSpanProcessor to an exporter keeping the last batch (as
    spans leave a real process once exported; keeping them all would measure the garbage
    collector walking a growing heap), metrics aggregated for a reader."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    class LastBatch(InMemorySpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            self.clear()
            return super().export(spans)

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(LastBatch()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    content = TextMessage(content=TEXT)
    try:
        async with RongCloud(
            APP_KEY,
            APP_SECRET,
            base_urls=[url],
            rate_limits=None,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        ) as rc:

            async def send() -> object:
                return await rc.publish_group(
                    from_user_id=FROM_USER, group_ids=[GROUP], content=content
                )

            yield send
    finally:
        tracer_provider.shutdown()
        meter_provider.shutdown()


@asynccontextmanager
async def _bare_aiohttp(url: str) -> AsyncIterator[AsyncSend]:
    import aiohttp  # here, so that processes measuring only httpx clients never load it

    path, body, headers = _prebuilt()
    connector = aiohttp.TCPConnector(limit=LIMITS.max_connections or 0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def send() -> object:
            async with session.post(url + path, data=body, headers=headers) as response:
                response.raise_for_status()
                return await response.read()

        yield send


#: name -> factory; the first is the baseline of every ratio.
ASYNC_CLIENTS: dict[str, AsyncClient] = {
    "httpx (bare)": lambda url: _bare_httpx(url, None),
    "rongpub": lambda url: _rongpub(url, None),
    "httpx+aiohttp transport (bare)": lambda url: _bare_httpx(url, _aiohttp_transport()),
    "rongpub, aiohttp transport": lambda url: _rongpub(url, _aiohttp_transport()),
    "aiohttp (bare)": _bare_aiohttp,
    # The `--otel` variant (issue #17): "rongpub" itself runs with opentelemetry-api
    # installed and no SDK configured.
    "rongpub, no opentelemetry": _rongpub_without_opentelemetry,
    "rongpub, OTel SDK to memory": _rongpub_otel_sdk,
}


def official_sdk_send(url: str) -> Callable[[], object]:
    """A blocking send through rc-server-sdk 3.2.0 (urllib, a new connection per call)."""
    from rongcloud.rongcloud import RongCloud as OfficialRongCloud

    group = OfficialRongCloud(APP_KEY, APP_SECRET, host_url=url).get_message().get_group()

    def send() -> object:
        reply = group.send(
            from_user_id=FROM_USER,
            to_group_id=GROUP,
            object_name="RC:TxtMsg",
            content={"content": TEXT},
        )
        if reply.get("code") != 200:
            raise RuntimeError(f"rc-server-sdk send failed: {reply}")
        return reply

    return send
