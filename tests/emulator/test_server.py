"""The real HTTP/1.1 server on loopback (integration): keep-alive, concurrency, resets."""

from __future__ import annotations

import anyio
import h11
import httpx
import pytest

from rongpub.emulator import Emulator, Faults, ServerLimits, serve

from .helpers import APPS, GROUP, encode, group_form, signed

pytestmark = pytest.mark.anyio


async def _post(client: httpx.AsyncClient, **fields: str | list[str]) -> httpx.Response:
    return await client.post(GROUP, content=encode(group_form(**fields)), headers=signed())


async def test_publish_over_a_real_socket() -> None:
    emulator = Emulator(APPS)
    async with serve(emulator) as server, httpx.AsyncClient(base_url=server.url) as client:
        assert server.url == f"http://127.0.0.1:{server.port}"
        response = await _post(client)
        not_found = await client.get("/message/other.json")
    assert response.status_code == 200
    assert response.json()["messageUIDs"][0]["groupId"] == "g1"
    assert not_found.status_code == 404
    assert len(emulator.records) == 1


def _request(body: bytes, *, close: bool = False) -> h11.Request:
    headers = [("host", "emulator"), ("content-length", str(len(body))), *signed().items()]
    if close:
        headers.append(("connection", "close"))
    return h11.Request(method="POST", target=GROUP, headers=headers)


async def _exchange(
    stream: anyio.abc.SocketStream, conn: h11.Connection, request: h11.Request, body: bytes
) -> tuple[h11.Response, bytes]:
    """Send one request and read its response with a client-side h11 connection."""
    await stream.send(
        conn.send(request) + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage())
    )
    response: h11.Response | None = None
    data = b""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await stream.receive())
        elif isinstance(event, h11.Response):
            response = event
        elif isinstance(event, h11.Data):
            data += event.data
        elif isinstance(event, h11.EndOfMessage):
            assert response is not None
            return response, data


async def test_one_connection_carries_many_requests_until_connection_close() -> None:
    emulator = Emulator(APPS)
    body = encode(group_form())
    async with (
        serve(emulator) as server,
        await anyio.connect_tcp("127.0.0.1", server.port) as stream,
    ):
        conn = h11.Connection(h11.CLIENT)
        for _ in range(3):
            response, _ = await _exchange(stream, conn, _request(body), body)
            assert response.status_code == 200
            conn.start_next_cycle()
        response, _ = await _exchange(stream, conn, _request(body, close=True), body)
        assert response.status_code == 200
        with pytest.raises((anyio.EndOfStream, anyio.BrokenResourceError)):
            await stream.receive()  # the server closed its end
    assert len(emulator.records) == 4


async def test_many_concurrent_connections() -> None:
    emulator = Emulator(APPS, group_limit=10_000, faults=Faults(latency=(0.01, 0.02)))
    limits = httpx.Limits(max_connections=50)
    codes: list[int] = []
    async with (
        serve(emulator) as server,
        httpx.AsyncClient(base_url=server.url, limits=limits) as client,
    ):

        async def send(index: int) -> None:
            codes.append((await _post(client, toGroupId=f"g{index}")).status_code)

        async with anyio.create_task_group() as task_group:
            for index in range(60):
                task_group.start_soon(send, index)
    assert codes == [200] * 60
    assert len({record.target_id for record in emulator.records}) == 60


async def test_reset_before_recording_reaches_the_client_as_a_transport_error() -> None:
    emulator = Emulator(APPS, faults=Faults(reset_before_rate=1.0))
    async with serve(emulator) as server, httpx.AsyncClient(base_url=server.url) as client:
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            await _post(client)
    assert emulator.records == []
    assert emulator.arrivals[0].outcome == "reset_before"


async def test_reset_after_recording_delivers_but_the_client_sees_a_failure() -> None:
    emulator = Emulator(APPS, faults=Faults(reset_after_rate=1.0))
    async with serve(emulator) as server, httpx.AsyncClient(base_url=server.url) as client:
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            await _post(client)
        emulator.faults = Faults()
        assert (await _post(client, toGroupId="g2")).status_code == 200  # server still serves
    assert [record.target_id for record in emulator.records] == ["g1", "g2"]


async def test_a_reset_is_a_tcp_rst_not_a_clean_close() -> None:
    emulator = Emulator(APPS, faults=Faults(reset_after_rate=1.0))
    body = encode(group_form())
    async with (
        serve(emulator) as server,
        await anyio.connect_tcp("127.0.0.1", server.port) as stream,
    ):
        conn = h11.Connection(h11.CLIENT)
        await stream.send(conn.send(_request(body)) + conn.send(h11.Data(data=body)))
        await stream.send(conn.send(h11.EndOfMessage()))
        with pytest.raises(anyio.BrokenResourceError):  # ECONNRESET, not EndOfStream
            await stream.receive()


async def test_expect_100_continue_is_honoured() -> None:
    emulator = Emulator(APPS)
    body = encode(group_form())
    request = _request(body)
    request = h11.Request(
        method="POST", target=GROUP, headers=[*request.headers, (b"expect", b"100-continue")]
    )
    async with (
        serve(emulator) as server,
        await anyio.connect_tcp("127.0.0.1", server.port) as stream,
    ):
        conn = h11.Connection(h11.CLIENT)
        await stream.send(conn.send(request))
        conn.receive_data(await stream.receive())
        assert isinstance(conn.next_event(), h11.InformationalResponse)
        await stream.send(conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage()))
        conn.receive_data(await stream.receive())
        response = conn.next_event()
    assert isinstance(response, h11.Response)
    assert response.status_code == 200


async def test_malformed_http_is_answered_400() -> None:
    async with (
        serve(Emulator(APPS)) as server,
        await anyio.connect_tcp("127.0.0.1", server.port) as stream,
    ):
        await stream.send(b"NOT HTTP AT ALL\r\n\r\n")
        assert (await stream.receive()).startswith(b"HTTP/1.1 400 ")


async def test_a_body_over_the_cap_is_answered_413() -> None:
    emulator = Emulator(APPS)
    limits = ServerLimits(max_body_bytes=100)
    async with (
        serve(emulator, limits=limits) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        response = await client.post(GROUP, content=b"x" * 500, headers=signed())
    assert response.status_code == 413
    assert response.json()["code"] == 1508
    assert emulator.arrivals == []


async def test_a_client_vanishing_mid_request_does_not_stop_the_server() -> None:
    emulator = Emulator(APPS)
    async with serve(emulator) as server:
        stream = await anyio.connect_tcp("127.0.0.1", server.port)
        async with stream:
            await stream.send(b"POST /message/group/publish.json HTTP/1.1\r\nhost: x\r\n")
        async with httpx.AsyncClient(base_url=server.url) as client:
            assert (await _post(client)).status_code == 200
