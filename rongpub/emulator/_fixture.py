"""What the `rongcloud_emulator` pytest fixture yields: an emulator and a client wired to it."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from .. import RongCloud
from .._constants import (
    BROADCAST_RATE_LIMIT,
    CHATROOM_RATE_LIMIT,
    GROUP_RATE_LIMIT,
    PRIVATE_RATE_LIMIT,
    SYSTEM_RATE_LIMIT,
)
from ._app import Emulator
from ._asgi import EmulatorApp
from ._faults import Faults
from ._leniency import FidelityWarning
from ._quota import WindowModel
from ._records import Record
from ._stats import ApiStats

__all__ = ["EmulatorFixture"]

#: The base URL the in-process client uses; no request ever leaves the process.
BASE_URL = "http://rongcloud.emulator"


class EmulatorFixture:
    """An in-process emulator and `RongCloud` clients that reach it through ASGI.

    Arguments as `Emulator`'s; `client_options`: keyword arguments for every `RongCloud`
    built here (e.g. `rate_limits=None`, `retry=RetryPolicy(unknown=1)`).
    """

    def __init__(
        self,
        apps: Mapping[str, str] | None = None,
        *,
        group_limit: int = GROUP_RATE_LIMIT,
        chatroom_limit: int = CHATROOM_RATE_LIMIT,
        private_limit: int = PRIVATE_RATE_LIMIT,
        system_limit: int = SYSTEM_RATE_LIMIT,
        broadcast_limit: int = BROADCAST_RATE_LIMIT,
        broadcast_enabled: bool = True,
        window: WindowModel = "sliding",
        faults: Faults | None = None,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
        client_options: Mapping[str, Any] | None = None,
        strict: bool = False,
    ) -> None:
        self.emulator = Emulator(
            apps,
            group_limit=group_limit,
            chatroom_limit=chatroom_limit,
            private_limit=private_limit,
            system_limit=system_limit,
            broadcast_limit=broadcast_limit,
            broadcast_enabled=broadcast_enabled,
            window=window,
            faults=faults,
            seed=seed,
            clock=clock,
            strict=strict,
        )
        self.app = EmulatorApp(self.emulator)
        self.client_options = dict(client_options or {})
        self._client: RongCloud | None = None

    @property
    def client(self) -> RongCloud:
        """A `RongCloud` for the emulator's first app (built on first use, then reused)."""
        if self._client is None:
            self._client = self.make_client()
        return self._client

    def make_client(self, **options: Any) -> RongCloud:
        """A new `RongCloud` reaching the emulator; `options` override `client_options`."""
        settings = {**self.client_options, **options}
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app))
        return RongCloud(
            settings.pop("app_key", self.emulator.app_key),
            settings.pop("app_secret", self.emulator.app_secret),
            base_urls=settings.pop("base_urls", [BASE_URL]),
            http_client=http,
            **settings,
        )

    @property
    def records(self) -> list[Record]:
        """Every accepted message, one per target, in arrival order."""
        return self.emulator.records

    def messages(self, **filters: str) -> list[Record]:
        """Accepted messages, filtered as `Emulator.messages` (group=, private=, api=, ...)."""
        return self.emulator.messages(**filters)

    def warnings(self) -> list[FidelityWarning]:
        """Every rule the emulator relaxed, as `Emulator.warnings`."""
        return self.emulator.warnings()

    def stats(self) -> dict[str, ApiStats]:
        """Per-API statistics, as `Emulator.stats`."""
        return self.emulator.stats()
