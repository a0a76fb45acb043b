"""Issue #13 case 12: idle and slow connections time out, running out of file descriptors
does not kill the server, and buffered request bodies stay under a total cap."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator

import anyio
import httpx
import pytest

from rongpub._constants import APP_SECRET_ENV
from rongpub.emulator import Emulator, ServerLimits, serve
from rongpub.emulator._process import _wait_for_url

from .helpers import APPS, GROUP, KEY, SECRET, encode, group_form, signed

# Seconds: generous bounds so a loaded machine does not flake; no duration is asserted.
SAFETY = 20.0


@pytest.mark.anyio
@pytest.mark.parametrize(
    "sent",
    [
        b"",  # idle: connected, nothing sent
        b"POST /message/group/publish.json HTTP/1.1\r\nhost: x\r\n",  # head never finished
        b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n0123456789",  # body stalls
    ],
)
async def test_idle_and_slow_connections_are_closed_after_the_timeout(sent: bytes) -> None:
    limits = ServerLimits(request_timeout=0.2)
    async with serve(Emulator(APPS), limits=limits) as server:
        stream = await anyio.connect_tcp("127.0.0.1", server.port)
        async with stream:
            if sent:
                await stream.send(sent)
            with anyio.fail_after(SAFETY):
                with pytest.raises(anyio.EndOfStream):
                    await stream.receive()
        assert server.budget.in_use == 0


@pytest.mark.anyio
async def test_a_keep_alive_connection_serves_requests_within_the_timeout() -> None:
    async with (
        serve(Emulator(APPS), limits=ServerLimits(request_timeout=5.0)) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        for _ in range(3):
            response = await client.post(GROUP, content=encode(group_form()), headers=signed())
            assert response.status_code == 200


async def _partial_body(port: int, declared: int, sent: int) -> anyio.abc.SocketStream:
    stream = await anyio.connect_tcp("127.0.0.1", port)
    head = f"POST {GROUP} HTTP/1.1\r\nhost: x\r\ncontent-length: {declared}\r\n\r\n"
    await stream.send(head.encode() + b"x" * sent)
    return stream


async def _until(condition: Callable[[], bool]) -> None:
    """Poll the server's counters (they have no event to wait on)."""
    with anyio.fail_after(SAFETY):
        while not condition():  # noqa: ASYNC110
            await anyio.sleep(0.01)


@pytest.mark.anyio
async def test_buffered_bodies_stay_under_the_total_cap_and_are_released() -> None:
    limits = ServerLimits(max_body_bytes=100_000, max_buffered_bytes=250_000)
    async with serve(Emulator(APPS), limits=limits) as server:
        first = await _partial_body(server.port, 100_000, 90_000)
        second = await _partial_body(server.port, 100_000, 90_000)
        await _until(lambda: server.budget.in_use == 180_000)
        third = await _partial_body(server.port, 100_000, 90_000)
        with anyio.fail_after(SAFETY):
            answer = await third.receive()
        assert answer.startswith(b"HTTP/1.1 503 ")
        assert server.budget.peak <= 250_000
        for stream in (first, second, third):
            await stream.aclose()
        await _until(lambda: server.budget.in_use == 0)
        async with httpx.AsyncClient(base_url=server.url) as client:
            response = await client.post(GROUP, content=encode(group_form()), headers=signed())
        assert response.status_code == 200


# The server in a child whose descriptor limit is far below the connections the test opens.
_CHILD = textwrap.dedent(
    """
    import resource, sys
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    from rongpub._cli.main import main
    sys.exit(main(sys.argv[1:]))
    """
)


@pytest.fixture
def low_fd_server() -> Iterator[tuple[subprocess.Popen[str], str]]:
    command = [sys.executable, "-c", _CHILD, "emulator", "--port", "0", "--app-key", KEY]
    command += ["--request-timeout", "1"]
    env = {**os.environ, APP_SECRET_ENV: SECRET}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        yield process, _wait_for_url(process, SAFETY)
    finally:
        process.kill()
        process.communicate()


def test_running_out_of_descriptors_backs_off_and_keeps_serving(
    low_fd_server: tuple[subprocess.Popen[str], str],
) -> None:
    process, url = low_fd_server
    port = int(url.rsplit(":", 1)[1])
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(120)]
    try:
        time.sleep(0.5)  # let the child hit EMFILE on accept
        assert process.poll() is None
        body = encode(group_form())
        # Served once the idle connections time out and free their descriptors.
        response = httpx.post(url + GROUP, content=body, headers=signed(), timeout=SAFETY)
        assert response.status_code == 200
        assert process.poll() is None
    finally:
        for sock in idle:
            sock.close()


@pytest.mark.parametrize(
    "options",
    [
        {"request_timeout": 0},
        {"accept_backoff": -1},
        {"max_body_bytes": 0},
        {"max_body_bytes": 10, "max_buffered_bytes": 5},
    ],
)
def test_inconsistent_limits_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        ServerLimits(**options)  # type: ignore[arg-type]


def test_the_command_line_refuses_a_zero_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    from rongpub._cli.main import main

    assert main(["emulator", "--request-timeout", "0"]) == 2
    assert "request_timeout" in capsys.readouterr().err


class _FailingListener:
    """accept() fails with each error in turn."""

    def __init__(self, *errors: int) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def accept(self) -> object:
        self.calls += 1
        code = self.errors.pop(0)
        raise OSError(code, os.strerror(code))


@pytest.mark.anyio
async def test_accept_retries_after_emfile_and_enfile_but_not_other_errors() -> None:
    import errno

    from rongpub.emulator._server import Server, _accept_forever

    listener = _FailingListener(errno.EMFILE, errno.ENFILE, errno.EINVAL)
    server = Server(Emulator(APPS), "127.0.0.1", 0, ServerLimits(accept_backoff=0.001))
    async with anyio.create_task_group() as tasks:
        with pytest.raises(OSError, match="Invalid argument"):
            await _accept_forever(listener, server, tasks)  # type: ignore[arg-type]
    assert listener.calls == 3
