"""An application that instruments its httpx client (opentelemetry-instrumentation-httpx)
keeps rongpub's trace hook: the limiter still hears when the bytes go out."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

from rongpub import Quota, RateLimits, RongCloud, TextMessage
from rongpub._transport import traces_writes
from rongpub.emulator import DEFAULT_APP_KEY, DEFAULT_APP_SECRET, Emulator, Server, run_in_thread

from .conftest import Otel

pytestmark = pytest.mark.anyio


class Heard:
    """A limiter whose `Departure` records what the transport told it."""

    def __init__(self) -> None:
        self.events: list[str] = []

    async def acquire(self, quota: Quota, cost: int) -> Heard:
        self.events.append("acquire")
        return self

    async def leaving(self) -> None:
        self.events.append("leaving")

    def left(self) -> None:  # called only from httpcore's trace hook
        self.events.append("left")

    async def pause(self, quota: Quota, seconds: float | None) -> None:
        raise AssertionError("not rate limited here")

    async def aclose(self) -> None:
        return None


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with run_in_thread(Emulator()) as running:
        yield running


async def test_an_instrumented_client_still_calls_the_trace_hook(
    server: Server, otel: Otel
) -> None:
    heard = Heard()
    async with httpx.AsyncClient() as http:
        HTTPXClientInstrumentor.instrument_client(http, tracer_provider=otel.tracer_provider)
        try:
            assert traces_writes(http, server.url)
            async with RongCloud(
                DEFAULT_APP_KEY,
                DEFAULT_APP_SECRET,
                base_urls=[server.url],
                rate_limits=RateLimits(),
                limiter=heard,
                http_client=http,
                **otel.providers,
            ) as rc:
                result = await rc.publish_group(
                    from_user_id="u", group_ids=["g1"], content=TextMessage(content="hi")
                )
        finally:
            HTTPXClientInstrumentor.uninstrument_client(http)
    assert heard.events == ["acquire", "leaving", "left"]
    assert result.message_uids.keys() == {"g1"}
    (send,) = otel.spans("send group")
    (post,) = [span for span in otel.spans() if span.name == "POST"]
    assert post.parent is not None and post.parent.span_id == send.context.span_id
    assert (post.attributes or {}).get(
        "http.response.status_code", (post.attributes or {}).get("http.status_code")
    ) == 200
