"""Benchmark servers, each in its own process so client and server CPU are measured apart.

`fast_server()` starts this file as a script: a raw `asyncio.Protocol` HTTP/1.1 server that
answers every request with a fixed `{"code":200,...}` body. It parses only what it must
(the head's end and Content-Length), so it serves several times the rate of any client
measured here and is never the bottleneck of the overhead suite. rongpub's emulator (anyio +
h11, with signature checks, quotas and records; `rongpub.emulator.start_in_subprocess`) is
the strict server of the quota suites.

`process_cpu(pid)` reads another process's CPU seconds from /proc (Linux; None elsewhere).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass

__all__ = ["Running", "fast_server", "process_cpu"]

_BODY = b'{"code":200,"messageUIDs":[{"groupId":"g1","messageUID":"BENCH-0001"}]}'
_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
_KEEP = _HEAD % len(_BODY) + b"\r\n" + _BODY
_CLOSE = _HEAD % len(_BODY) + b"Connection: close\r\n\r\n" + _BODY
_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_CLOSING = re.compile(rb"\r\nconnection:[ \t]*close", re.IGNORECASE)
_URL = re.compile(r"http://127\.0\.0\.1:\d+")


@dataclass(frozen=True)
class Running:
    """A server process: its base URL and pid (for `process_cpu`)."""

    url: str
    pid: int


class _Http(asyncio.Protocol):
    """One connection: answer each complete request as soon as its body is in."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while (end := buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(buffer[:end])
            match = _LENGTH.search(head)
            total = end + 4 + (int(match.group(1)) if match else 0)
            if len(buffer) < total:
                return
            del buffer[:total]
            self._answer(closing=_CLOSING.search(head) is not None)

    def _answer(self, *, closing: bool) -> None:
        assert self._transport is not None
        self._transport.write(_CLOSE if closing else _KEEP)
        if closing:
            self._transport.close()


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Http, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


@contextmanager
def _process(command: Sequence[str]) -> Iterator[Running]:
    """Start `command`, wait for the URL it prints, terminate it on exit."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = _URL.search(line)
        if found is None:
            raise RuntimeError(f"{command[0]} did not print its URL: {line!r}")
        yield Running(found.group(0), process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def fast_server() -> AbstractContextManager[Running]:
    """The fixed-answer server in its own process (a context manager of `Running`)."""
    return _process([sys.executable, __file__])


def process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of process `pid` so far (Linux /proc), or None."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    with suppress(KeyboardInterrupt):
        asyncio.run(_serve())
