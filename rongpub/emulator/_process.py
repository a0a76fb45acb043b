"""Running the CLI server in a child process, so its CPU is measured apart from the client's.

The child's records and statistics are fetched over HTTP from the `/_emulator/` endpoints.
"""

from __future__ import annotations

import os
import re
import selectors
import subprocess
import sys
from types import TracebackType
from typing import Literal

import httpx
import msgspec

from .._constants import (
    APP_SECRET_ENV,
    BROADCAST_RATE_LIMIT,
    CHATROOM_RATE_LIMIT,
    GROUP_RATE_LIMIT,
    PRIVATE_RATE_LIMIT,
    SYSTEM_RATE_LIMIT,
)
from ._app import DEFAULT_APP_KEY, DEFAULT_APP_SECRET
from ._faults import Faults
from ._leniency import FidelityWarning
from ._quota import WindowModel
from ._records import Arrival, Record
from ._stats import ApiStats

__all__ = ["EmulatorProcess", "start_in_subprocess"]

_LISTENING = re.compile(r"listening on (http://\S+)")
_STOP_TIMEOUT = 5.0


class EmulatorProcess:
    """A `rongpub emulator` child process; a context manager that stops it on exit.

    `url`: where it listens. `app_key` / `app_secret`: the app it accepts.
    """

    def __init__(
        self, process: subprocess.Popen[str], url: str, app_key: str, app_secret: str
    ) -> None:
        self.process = process
        self.url = url
        self.app_key = app_key
        self.app_secret = app_secret
        self._http = httpx.Client(base_url=url + "/_emulator", timeout=30.0)

    def __repr__(self) -> str:
        return f"EmulatorProcess(url={self.url!r}, pid={self.process.pid})"

    def _get(self, path: str, **params: str) -> bytes:
        response = self._http.get(path, params=params)
        response.raise_for_status()
        return response.content

    def stats(self, app_key: str | None = None) -> dict[str, ApiStats]:
        """Per-API statistics, as `Emulator.stats`."""
        params = {} if app_key is None else {"app_key": app_key}
        return msgspec.json.decode(self._get("/stats", **params), type=dict[str, ApiStats])

    def messages(self, **filters: str) -> list[Record]:
        """Accepted messages; filters as `Emulator.messages` (group=, chatroom=, ...)."""
        return msgspec.json.decode(self._get("/messages", **filters), type=list[Record])

    def arrivals(self) -> list[Arrival]:
        """Every publish arrival, as `Emulator.arrivals`."""
        return msgspec.json.decode(self._get("/arrivals"), type=list[Arrival])

    def warnings(self) -> list[FidelityWarning]:
        """Every rule the server relaxed, as `Emulator.warnings`."""
        return msgspec.json.decode(self._get("/warnings"), type=list[FidelityWarning])

    def set_faults(self, faults: Faults) -> None:
        """Switch the injected faults from now on."""
        self._http.put("/faults", content=msgspec.json.encode(faults)).raise_for_status()

    def force_rate_limit(self, *, requests: int = 0, seconds: float = 0.0) -> None:
        """Answer the next `requests` publishes, and all for `seconds`, with 429/1008."""
        params = {"requests": str(requests), "seconds": str(seconds)}
        self._http.post("/rate-limit", params=params).raise_for_status()

    def set_broadcast_enabled(self, enabled: bool) -> None:
        """Switch the app's chatroom broadcast service (off: broadcasts get 1009)."""
        params = {"enabled": "true" if enabled else "false"}
        self._http.put("/broadcast", params=params).raise_for_status()

    def reset(self) -> None:
        """Forget records, arrivals, quota usage and forced bursts."""
        self._http.post("/reset").raise_for_status()

    def close(self) -> None:
        """Stop the child (SIGTERM, then SIGKILL after 5 s) and wait for it."""
        self._http.close()
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.communicate(timeout=_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def start_in_subprocess(
    *,
    app_key: str = DEFAULT_APP_KEY,
    app_secret: str = DEFAULT_APP_SECRET,
    host: str = "127.0.0.1",
    port: int = 0,
    group_limit: int = GROUP_RATE_LIMIT,
    chatroom_limit: int = CHATROOM_RATE_LIMIT,
    private_limit: int = PRIVATE_RATE_LIMIT,
    system_limit: int = SYSTEM_RATE_LIMIT,
    broadcast_limit: int = BROADCAST_RATE_LIMIT,
    broadcast_enabled: bool = True,
    window: WindowModel = "sliding",
    faults: Faults | None = None,
    seed: int | None = None,
    backend: Literal["asyncio", "trio"] = "asyncio",
    strict: bool = False,
    startup_timeout: float = 15.0,
) -> EmulatorProcess:
    """Start `python -m rongpub emulator` on `host`:`port` (0: a free port) and wait for it.

    Arguments as `Emulator`'s; `faults` are set over HTTP once it listens.
    `startup_timeout`: seconds to wait for it to listen. The secret travels in the child's
    environment, not on its command line.
    """
    command = [sys.executable, "-m", "rongpub", "emulator", "--host", host, "--port", str(port)]
    command += ["--app-key", app_key, "--window", window, "--backend", backend]
    command += ["--group-limit", str(group_limit), "--chatroom-limit", str(chatroom_limit)]
    command += ["--private-limit", str(private_limit), "--system-limit", str(system_limit)]
    command += ["--broadcast-limit", str(broadcast_limit)]
    command += [] if broadcast_enabled else ["--broadcast-disabled"]
    command += [] if seed is None else ["--seed", str(seed)]
    command += ["--strict"] if strict else []
    env = {**os.environ, APP_SECRET_ENV: app_secret}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        url = _wait_for_url(process, startup_timeout)
    except BaseException:
        process.kill()
        process.communicate()
        raise
    child = EmulatorProcess(process, url, app_key, app_secret)
    if faults is not None:
        child.set_faults(faults)
    return child


def _wait_for_url(process: subprocess.Popen[str], timeout: float) -> str:
    """The URL from the child's "listening on" line; RuntimeError if it never comes."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise RuntimeError(f"the emulator did not start within {timeout} s")
    line = process.stdout.readline()
    match = _LISTENING.search(line)
    if match is None:
        raise RuntimeError(f"the emulator did not start (exit code {process.wait()})")
    return match.group(1)
