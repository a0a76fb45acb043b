"""The emulator as a real HTTP/1.1 server on a loopback port (anyio + h11).

Runs under asyncio and trio, keeps connections alive, serves many at once, and carries out
the core's injected resets by closing the socket with SO_LINGER 0, which sends a TCP RST:
the client sees "connection reset", before or after its message was recorded.

Hostile clients do not take it down (`ServerLimits`): a request must arrive whole within
`request_timeout` (idle keep-alive and slow-loris connections are closed), the bodies buffered
over all connections stay under `max_buffered_bytes` (503 beyond), and when accept() fails for
want of file descriptors the server pauses accepting and keeps serving the connections it has.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http import HTTPStatus

import anyio
import h11
from anyio.abc import SocketAttribute, SocketListener, SocketStream, TaskGroup

from ._app import Emulator
from ._server_limits import BodyBudget, ServerLimits, is_out_of_descriptors
from ._wire import Reply, lower_headers

__all__ = ["MAX_BODY_BYTES", "Server", "ServerLimits", "serve"]

#: Bytes; the default largest request body (413 beyond, the connection then closed).
MAX_BODY_BYTES = ServerLimits().max_body_bytes
_RECEIVE_BYTES = 65536
_LINGER_ZERO = struct.pack("ii", 1, 0)
_TOO_LARGE = Reply(status=413, body=b'{"code":1508,"errorMessage":"request body too large"}')
_BAD = Reply(status=400, body=b'{"code":400,"errorMessage":"malformed HTTP request"}')
_BUSY = Reply(
    status=503, body=b'{"code":503,"errorMessage":"server busy: too many request bodies buffered"}'
)
_Request = tuple[h11.Request, bytes]


class _OverBudget(Exception):
    """The connection's body would take the server past `max_buffered_bytes`."""


@dataclass(frozen=True)
class Server:
    """A running emulator server; `url` is its base URL (`http://127.0.0.1:PORT`).

    `budget.in_use` / `budget.peak`: request body bytes buffered now / at most so far.
    """

    emulator: Emulator
    host: str
    port: int
    limits: ServerLimits = field(default_factory=ServerLimits)
    budget: BodyBudget = field(default_factory=BodyBudget)

    @property
    def url(self) -> str:
        """The base URL to give a client (no trailing slash)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


@asynccontextmanager
async def serve(
    emulator: Emulator,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    limits: ServerLimits | None = None,
) -> AsyncIterator[Server]:
    """Serve `emulator` on `host`:`port` (0: a free port) until the block exits.

    Use an IP address for `host`: with a name, port 0 may bind v4 and v6 differently.
    `limits`: timeouts and memory bounds (default `ServerLimits()`).
    """
    limits = limits or ServerLimits()
    listener = await anyio.create_tcp_listener(local_host=host, local_port=port)
    bound_port = listener.extra(SocketAttribute.local_port)
    server = Server(emulator, host, bound_port, limits, BodyBudget(limits.max_buffered_bytes))
    async with listener, anyio.create_task_group() as task_group:
        for each in listener.listeners:
            assert isinstance(each, SocketListener)  # create_tcp_listener's are
            task_group.start_soon(_accept_forever, each, server, task_group)
        try:
            yield server
        finally:
            task_group.cancel_scope.cancel()


async def _accept_forever(listener: SocketListener, server: Server, tasks: TaskGroup) -> None:
    """Accept connections; out of file descriptors, pause and retry instead of dying (the
    pending connection waits in the backlog while open ones finish or time out)."""
    while True:
        try:
            stream = await listener.accept()
        except OSError as exc:
            if not is_out_of_descriptors(exc):
                raise
            await anyio.sleep(server.limits.accept_backoff)
            continue
        tasks.start_soon(_connection, server, stream)


async def _connection(server: Server, stream: SocketStream) -> None:
    """Serve one connection's requests in turn until either side closes it."""
    conn = h11.Connection(h11.SERVER)
    try:
        async with stream:
            await _serve_requests(server, conn, stream)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        pass  # the client went away; nothing to answer


async def _serve_requests(server: Server, conn: h11.Connection, stream: SocketStream) -> None:
    while True:
        held = [0]  # body bytes this request holds of the server's budget
        try:
            await _serve_one(server, conn, stream, held)
        except _Closing:
            return
        finally:
            server.budget.give_back(held[0])
        conn.start_next_cycle()


class _Closing(Exception):
    """The connection is done (closed by either side, refused, or timed out)."""


async def _serve_one(
    server: Server, conn: h11.Connection, stream: SocketStream, held: list[int]
) -> None:
    """Receive one request (within the timeout, under the budget) and answer it."""
    try:
        with anyio.fail_after(server.limits.request_timeout):
            request = await _receive_request(server, conn, stream, held)
    except TimeoutError:
        raise _Closing from None  # idle or too slow: free the descriptor
    except _OverBudget:
        await _send_reply(conn, stream, _BUSY)
        raise _Closing from None
    except h11.RemoteProtocolError:
        if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):  # h11 lets us still answer
            await _send_reply(conn, stream, _BAD)
        raise _Closing from None
    if request is None:
        raise _Closing
    head, body = request
    if len(body) > server.limits.max_body_bytes:
        await _send_reply(conn, stream, _TOO_LARGE)
        raise _Closing
    await _answer(server.emulator, conn, stream, head, body)


async def _answer(
    emulator: Emulator, conn: h11.Connection, stream: SocketStream, head: h11.Request, body: bytes
) -> None:
    target = head.target.decode("latin-1")
    reply = emulator.handle(head.method.decode(), target, lower_headers(head.headers), body)
    if reply.delay:
        await anyio.sleep(reply.delay)
    if reply.reset:
        await _reset(stream)
        raise _Closing
    await _send_reply(conn, stream, reply)
    if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
        raise _Closing  # "Connection: close" or HTTP/1.0: h11 wants the connection closed


async def _receive_request(
    server: Server, conn: h11.Connection, stream: SocketStream, held: list[int]
) -> _Request | None:
    """The next request with its whole body (a too-large body is cut short), or None at EOF.
    Every body byte is taken from the server's budget into `held` (raises `_OverBudget`)."""
    head: h11.Request | None = None
    chunks: list[bytes] = []
    size = 0
    while size <= server.limits.max_body_bytes:
        event = await _next_event(conn, stream)
        if isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            if not server.budget.take(len(event.data)):
                raise _OverBudget
            held[0] += len(event.data)
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
