"""An embedded RongCloud server for tests, demos and benchmarks (no network needed).

It behaves like the group and chatroom publish endpoints: checks signatures, validates every
documented parameter rule, enforces per-app quotas, records what it accepts, and injects
faults on request. Three ways to run it:

- in-process, no sockets: `httpx.ASGITransport(app=EmulatorApp(emulator))`;
- a real HTTP server on loopback: `async with serve(emulator) as server: server.url`,
  `with run_in_thread(emulator) as server: ...`, `start_in_subprocess()`, or the
  `rongpub emulator` command;
- the pytest fixtures `rongcloud_emulator` (in-process, with a configured `RongCloud`) and
  `rongcloud_emulator_server` (loopback server), from the plugin `rongpub` installs.

Names are imported on first use, so loading the pytest plugin stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._app import DEFAULT_APP_KEY, DEFAULT_APP_SECRET, Emulator
    from ._asgi import EmulatorApp
    from ._faults import Faults
    from ._fixture import EmulatorFixture
    from ._leniency import FidelityWarning
    from ._process import EmulatorProcess, start_in_subprocess
    from ._quota import WindowModel
    from ._records import Arrival, Outcome, Record
    from ._server import Server, serve
    from ._server_limits import ServerLimits
    from ._stats import ApiStats
    from ._thread import run_in_thread

__all__ = [
    "DEFAULT_APP_KEY",
    "DEFAULT_APP_SECRET",
    "ApiStats",
    "Arrival",
    "Emulator",
    "EmulatorApp",
    "EmulatorFixture",
    "EmulatorProcess",
    "Faults",
    "FidelityWarning",
    "Outcome",
    "Record",
    "Server",
    "ServerLimits",
    "WindowModel",
    "run_in_thread",
    "serve",
    "start_in_subprocess",
]

_HOMES = {
    "DEFAULT_APP_KEY": "._app",
    "DEFAULT_APP_SECRET": "._app",
    "ApiStats": "._stats",
    "Arrival": "._records",
    "Emulator": "._app",
    "EmulatorApp": "._asgi",
    "EmulatorFixture": "._fixture",
    "EmulatorProcess": "._process",
    "Faults": "._faults",
    "FidelityWarning": "._leniency",
    "Outcome": "._records",
    "Record": "._records",
    "Server": "._server",
    "ServerLimits": "._server_limits",
    "WindowModel": "._quota",
    "run_in_thread": "._thread",
    "serve": "._server",
    "start_in_subprocess": "._process",
}


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
