"""The emulator as a real HTTP/1.1 server on a loopback port (anyio + h11).

Runs under asyncio and trio, keeps connections alive, serves many at once, and carries out
the core's injected resets by closing the socket with SO_LINGER 0, which sends a TCP RST:
the client sees "connection reset", before or after its message was recorded.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus

import anyio
import h11
from anyio.abc import SocketAttribute, SocketStream

from ._app import Emulator
from ._wire import Reply, lower_headers

__all__ = ["MAX_BODY_BYTES", "Server", "serve"]

#: Bytes; a larger request body is answered 413 and the connection closed.
MAX_BODY_BYTES = 1024 * 1024
_RECEIVE_BYTES = 65536
_LINGER_ZERO = struct.pack("ii", 1, 0)
_TOO_LARGE = Reply(status=413, body=b'{"code":1508,"errorMessage":"request body too large"}')
_BAD = Reply(status=400, body=b'{"code":400,"errorMessage":"malformed HTTP request"}')
_Request = tuple[h11.Request, bytes]


@dataclass(frozen=True)
class Server:
    """A running emulator server; `url` is its base URL (`http://127.0.0.1:PORT`)."""

    emulator: Emulator
    host: str
    port: int

    @property
    def url(self) -> str:
        """The base URL to give a client (no trailing slash)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


@asynccontextmanager
async def serve(
    emulator: Emulator, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[Server]:
    """Serve `emulator` on `host`:`port` (0: a free port) until the block exits.

    Use an IP address for `host`: with a name, port 0 may bind v4 and v6 differently.
    """
    listener = await anyio.create_tcp_listener(local_host=host, local_port=port)
    bound_port = listener.extra(SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as task_group:
        task_group.start_soon(listener.serve, partial(_connection, emulator))
        try:
            yield Server(emulator, host, bound_port)
        finally:
            task_group.cancel_scope.cancel()


async def _connection(emulator: Emulator, stream: SocketStream) -> None:
    """Serve one connection's requests in turn until either side closes it."""
    conn = h11.Connection(h11.SERVER)
    try:
        async with stream:
            await _serve_requests(emulator, conn, stream)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        pass  # the client went away; nothing to answer


async def _serve_requests(emulator: Emulator, conn: h11.Connection, stream: SocketStream) -> None:
    while True:
        try:
            request = await _receive_request(conn, stream)
        except h11.RemoteProtocolError:
            if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):  # h11 lets us still answer
                await _send_reply(conn, stream, _BAD)
            return
        if request is None:
            return
        head, body = request
        if len(body) > MAX_BODY_BYTES:
            await _send_reply(conn, stream, _TOO_LARGE)
            return
        target = head.target.decode("latin-1")
        reply = emulator.handle(head.method.decode(), target, lower_headers(head.headers), body)
        if reply.delay:
            await anyio.sleep(reply.delay)
        if reply.reset:
            await _reset(stream)
            return
        await _send_reply(conn, stream, reply)
        if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
            return  # "Connection: close" or HTTP/1.0: h11 wants the connection closed
        conn.start_next_cycle()


async def _receive_request(conn: h11.Connection, stream: SocketStream) -> _Request | None:
    """The next request with its whole body (a too-large body is cut short), or None at EOF."""
    head: h11.Request | None = None
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_BODY_BYTES:
        event = await _next_event(conn, stream)
        if isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            chunks.append(event.data)
            size += len(event.data)
        elif isinstance(event, h11.EndOfMessage):
            break
        elif isinstance(event, h11.ConnectionClosed):
            return None
    assert head is not None  # h11 emits the Request before any body data
    return head, b"".join(chunks)


async def _next_event(conn: h11.Connection, stream: SocketStream) -> object:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        if conn.they_are_waiting_for_100_continue:
            await stream.send(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
        try:
            data = await stream.receive(_RECEIVE_BYTES)
        except anyio.EndOfStream:
            data = b""
        conn.receive_data(data)


async def _send_reply(conn: h11.Connection, stream: SocketStream, reply: Reply) -> None:
    headers = [*reply.headers, ("content-length", str(len(reply.body)))]
    response = h11.Response(status_code=reply.status, headers=headers, reason=_reason(reply))
    parts = (response, h11.Data(data=reply.body), h11.EndOfMessage())
    await stream.send(b"".join(conn.send(part) or b"" for part in parts))


def _reason(reply: Reply) -> str:
    try:
        return HTTPStatus(reply.status).phrase
    except ValueError:
        return ""


async def _reset(stream: SocketStream) -> None:
    """Close with SO_LINGER 0: the kernel sends RST and discards unsent data."""
    stream.extra(SocketAttribute.raw_socket).setsockopt(
        socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO
    )
    await stream.aclose()
