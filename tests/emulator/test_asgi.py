"""The emulator through `httpx.ASGITransport`: in-process, no sockets."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
from trio.testing import MockClock

from rongpub.emulator import Emulator, EmulatorApp, Faults

from .helpers import APPS, GROUP, encode, group_form, signed


def _client(emulator: Emulator) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=EmulatorApp(emulator))
    return httpx.AsyncClient(transport=transport, base_url="http://emulator")


@pytest.mark.anyio
async def test_a_publish_through_asgi_is_answered_and_recorded() -> None:
    emulator = Emulator(APPS)
    async with _client(emulator) as client:
        response = await client.post(GROUP, content=encode(group_form()), headers=signed())
    assert response.status_code == 200
    assert response.json()["messageUIDs"][0]["groupId"] == "g1"
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert [record.target_id for record in emulator.records] == ["g1"]


@pytest.mark.anyio
async def test_query_strings_reach_the_control_endpoints() -> None:
    emulator = Emulator(APPS)
    async with _client(emulator) as client:
        await client.post(GROUP, content=encode(group_form(toGroupId=["a", "b"])), headers=signed())
        response = await client.get("/_emulator/messages", params={"group": "b"})
    assert [message["target_id"] for message in response.json()] == ["b"]


@pytest.mark.anyio
async def test_an_injected_reset_raises_the_read_error_a_real_reset_gives() -> None:
    emulator = Emulator(APPS, faults=Faults(reset_after_rate=1.0))
    async with _client(emulator) as client:
        with pytest.raises(httpx.ReadError):
            await client.post(GROUP, content=encode(group_form()), headers=signed())
    assert len(emulator.records) == 1


@pytest.mark.parametrize("anyio_backend", [("trio", {"clock": MockClock(autojump_threshold=0)})])
@pytest.mark.anyio
async def test_latency_is_awaited_before_answering() -> None:
    emulator = Emulator(APPS, faults=Faults(latency=(5.0, 5.0)))
    async with _client(emulator) as client:
        start = anyio.current_time()
        response = await client.post(GROUP, content=encode(group_form()), headers=signed())
    assert response.status_code == 200
    assert anyio.current_time() - start >= 5.0


@pytest.mark.anyio
async def test_lifespan_events_are_acknowledged() -> None:
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    await EmulatorApp(Emulator(APPS))({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


@pytest.mark.anyio
async def test_a_body_in_several_chunks_is_joined() -> None:
    body = encode(group_form())
    chunks = [
        {"type": "http.request", "body": body[:10], "more_body": True},
        {"type": "http.request", "body": body[10:], "more_body": False},
    ]
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return chunks.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    emulator = Emulator(APPS)
    raw_headers = [(name.encode(), value.encode()) for name, value in signed().items()]
    scope = {"type": "http", "method": "POST", "path": GROUP, "headers": raw_headers}
    await EmulatorApp(emulator)(scope, receive, send)
    assert sent[0]["status"] == 200
    assert len(emulator.records) == 1
