"""`RedisServer`: a throwaway `redis-server` on a free loopback port (tests, benchmarks).

Nothing is persisted unless asked (`--save ""`, `--appendonly no`, a temporary directory);
`kill`, `freeze` and `restart` stage the faults the Redis limiter and journal must survive.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time

__all__ = ["REDIS_SERVER", "RedisServer", "free_port"]

#: The binary started: `redis-server` on `$PATH`, else where Debian's package puts it.
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
_START_TIMEOUT = 10.0  # seconds


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One `redis-server` process on 127.0.0.1; `start`, `kill` and `restart` it at will.

    `with RedisServer() as server:` starts it and closes it on exit. `port`: default a free
    one. `appendonly`: keep every change in an append-only file (fsync always), so that a
    restart loads them again; by default nothing is persisted."""

    def __init__(self, port: int | None = None, *, appendonly: bool = False) -> None:
        self.port = port or free_port()
        self.appendonly = appendonly
        self._dir = tempfile.TemporaryDirectory(prefix="rongpub-redis-")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """`redis://127.0.0.1:<port>/0`."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        argv = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--dir", self._dir.name]
        if self.appendonly:  # every change on disk before it is answered: survives a restart
            argv += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            argv += ["--appendonly", "no"]
        self._process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._answers_ping():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.01)

    def kill(self) -> None:
        """SIGKILL the server, as a crash would, and reap it."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def freeze(self) -> None:
        """SIGSTOP the server: it keeps its connections but answers nothing (a hung host)."""
        if self._process is not None:
            self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT a frozen server: it answers again, commands queued meanwhile first."""
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """SIGTERM the server and reap it (idempotent; a frozen one is thawed first)."""
        if self._process is not None:
            self.thaw()
            self._process.terminate()
            try:
                self._process.wait(timeout=_START_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def restart(self) -> None:
        """Stop and start again on the same port: every key and loaded script is gone."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server and remove its directory."""
        self.stop()
        self._dir.cleanup()

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _answers_ping(self) -> bool:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock,
        ):
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
        return False
