"""The emulator as an ASGI app, for `httpx.ASGITransport` (in-process, no sockets).

An injected connection reset cannot drop a socket here, so the app raises
`httpx.ReadError` instead: through `httpx.ASGITransport` the client sees the same
exception a reset on a real connection produces.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
import httpx

from ._app import Emulator
from ._wire import lower_headers

__all__ = ["EmulatorApp"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class EmulatorApp:
    """An ASGI 3 application answering every request with `emulator`."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope ("http"; "lifespan" is acknowledged)."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        body = await _read_body(receive)
        query = scope.get("query_string", b"").decode("latin-1")
        target = scope["path"] + ("?" + query if query else "")
        headers = lower_headers(scope["headers"])
        reply = self.emulator.handle(scope["method"], target, headers, body)
        if reply.delay:
            await anyio.sleep(reply.delay)
        if reply.reset:
            raise httpx.ReadError("connection reset by peer (injected by the emulator)")
        raw_headers = [(name.encode(), value.encode()) for name, value in reply.headers]
        await send({"type": "http.response.start", "status": reply.status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": reply.body})


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
