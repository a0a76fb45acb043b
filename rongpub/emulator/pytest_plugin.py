"""pytest plugin of rongpub: fixtures that put the RongCloud emulator in your tests.

- `rongcloud_emulator`: an in-process emulator (ASGI, no sockets) and a `RongCloud` client
  reaching it (`.client`), with the records (`.messages(group="g1")`, `.stats()`).
- `rongcloud_emulator_server`: the emulator on a loopback port (`.url`, `.emulator`), for
  clients other than rongpub's.

Configure either with the marker `@pytest.mark.rongcloud_emulator(**options)`: the
`Emulator` arguments (`group_limit=`, `window=`, `faults=`, `seed=`, ...) and, for the
first fixture, `client_options={...}` for `RongCloud`.

The fixtures are synchronous, so they work with any async test runner (anyio, pytest-asyncio).
This module is loaded by every pytest run where rongpub is installed: it imports only pytest
here and the emulator when a fixture is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._fixture import EmulatorFixture
    from ._server import Server

__all__ = ["rongcloud_emulator", "rongcloud_emulator_server"]

_MARKER = "rongcloud_emulator"


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker (so `--strict-markers` accepts it)."""
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(**options): Emulator options (and client_options) for the rongpub "
        "emulator fixtures",
    )


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker(_MARKER)
    return dict(marker.kwargs) if marker is not None else {}


@pytest.fixture
def rongcloud_emulator(request: pytest.FixtureRequest) -> EmulatorFixture:
    """An in-process RongCloud emulator with a `RongCloud` client wired to it."""
    from ._fixture import EmulatorFixture

    return EmulatorFixture(**_options(request))


@pytest.fixture
def rongcloud_emulator_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """The RongCloud emulator served on a free loopback port for the test's duration."""
    from ._app import Emulator
    from ._thread import run_in_thread

    options = _options(request)
    options.pop("client_options", None)
    with run_in_thread(Emulator(**options)) as server:
        yield server
