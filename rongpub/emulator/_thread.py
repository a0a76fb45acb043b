"""Running the real server from synchronous code: in a background thread of this process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from anyio.from_thread import start_blocking_portal

from ._app import Emulator
from ._server import Server, serve
from ._server_limits import ServerLimits

__all__ = ["run_in_thread"]


@contextmanager
def run_in_thread(
    emulator: Emulator | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    backend: Literal["asyncio", "trio"] = "asyncio",
    limits: ServerLimits | None = None,
) -> Iterator[Server]:
    """Serve `emulator` (default: a fresh `Emulator()`) from an event loop in a new thread.

    Yields the running `Server` (`server.url`, `server.emulator`); the server stops when the
    block exits. The records are read directly, e.g. `server.emulator.messages(group="g1")`;
    read them once the requests you care about have been answered. `limits`: as `serve`'s.
    """
    emulator = emulator if emulator is not None else Emulator()
    serving = serve(emulator, host=host, port=port, limits=limits)
    with (
        start_blocking_portal(backend) as portal,
        portal.wrap_async_context_manager(serving) as server,
    ):
        yield server
