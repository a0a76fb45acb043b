"""The emulator's core: one request in (method, target, headers, body), one `Reply` out.

It knows nothing of sockets; `_asgi.py` and `_server.py` put it on the wire. Each publish
goes through the real server's checks in order, then the injected faults:
signature (401) -> parameters (400) -> forced 429 burst -> 5xx -> reset before recording ->
quota (429) -> broadcast service off (430/1009) -> record -> reset after recording -> 200.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace

from .._constants import (
    BROADCAST_PATH,
    BROADCAST_RATE_LIMIT,
    CHATROOM_PUBLISH_PATH,
    CHATROOM_RATE_LIMIT,
    GROUP_PUBLISH_PATH,
    GROUP_RATE_LIMIT,
    PRIVATE_PUBLISH_PATH,
    PRIVATE_RATE_LIMIT,
    SYSTEM_PUBLISH_PATH,
    SYSTEM_RATE_LIMIT,
)
from . import _control
from ._auth import check_signature
from ._family_rules import check_broadcast, check_private, check_system
from ._faults import FaultInjector, Faults, rate_limited
from ._form import Form
from ._leniency import FidelityWarning, Judge
from ._quota import Window, WindowModel, make_window
from ._records import Arrival, Outcome, Record
from ._rules import Publish, check_chatroom, check_group
from ._stats import ApiStats
from ._store import WINDOWS, Store
from ._wire import Rejection, Reply, error_reply, json_reply

__all__ = ["DEFAULT_APP_KEY", "DEFAULT_APP_SECRET", "STRICT_TIMESTAMP_AGE", "Emulator"]

#: The app an `Emulator()` accepts when none is configured (a public, test-only pair).
DEFAULT_APP_KEY = "emulator-app-key"
DEFAULT_APP_SECRET = "emulator-app-secret"
#: Seconds a strict emulator lets a timestamp differ from its clock (the documents name no
#: window; 5 minutes is the usual one for signed APIs).
STRICT_TIMESTAMP_AGE = 300.0

_APIS = {
    GROUP_PUBLISH_PATH: "group",
    CHATROOM_PUBLISH_PATH: "chatroom",
    PRIVATE_PUBLISH_PATH: "private",
    SYSTEM_PUBLISH_PATH: "system",
    BROADCAST_PATH: "broadcast",
}
_CHECKS: dict[str, Callable[[Form], Publish]] = {
    "group": check_group,
    "chatroom": check_chatroom,
    "private": check_private,
    "system": check_system,
    "broadcast": check_broadcast,
}
#: What the broadcast endpoint answers while the app's broadcast service is off (its page).
_NOT_ENABLED = Rejection(430, 1009, "chatroom broadcast service is not enabled for this app")
_RESET = Reply(status=0, body=b"", reset=True)
_NOT_FOUND = Rejection(404, 404, "no such endpoint")
_OK: dict[str, object] = {"code": 200}
_NOT_POST = Rejection(405, 405, "publish endpoints accept POST only")


class Emulator:
    """An in-memory RongCloud server for the publish endpoints: group, chatroom, private,
    system and chatroom broadcast.

    `apps`: app key -> secret (default: `DEFAULT_APP_KEY` / `DEFAULT_APP_SECRET`).
    `group_limit`, `chatroom_limit`: targets per second per app (defaults: the real 20 and 100).
    `private_limit`: recipients per 60 s (6,000); `system_limit`: recipients per second (100);
    `broadcast_limit`: broadcasts per second (1). `broadcast_enabled`: whether the app's
    broadcast service is on (else 1009); switch it later through the attribute.
    `window`: "sliding" (no 1 s window over the limit) or "fixed" (calendar seconds).
    `faults`: what to inject (default none); `seed`: makes faults and message UIDs repeatable.
    `clock`: seconds, used for arrival times and quota windows (default `time.time`).
    `strict`: refuse what the documents leave unclear (long nonces, unknown "RC:" types, ...)
    instead of accepting it with a warning (see `warnings()` and docs/emulator-fidelity.md).
    `max_timestamp_age`: seconds a Timestamp header may differ from `clock`; None (default):
    unchecked unless strict, then `STRICT_TIMESTAMP_AGE`.
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
        strict: bool = False,
        max_timestamp_age: float | None = None,
    ) -> None:
        if window not in ("fixed", "sliding"):
            raise ValueError('window must be "fixed" or "sliding"')
        self._apps = dict(apps) if apps else {DEFAULT_APP_KEY: DEFAULT_APP_SECRET}
        self.limits = {
            "group": group_limit,
            "chatroom": chatroom_limit,
            "private": private_limit,
            "system": system_limit,
            "broadcast": broadcast_limit,
        }
        if min(self.limits.values()) < 1:
            raise ValueError("limits must be at least 1 target per window")
        self.broadcast_enabled = broadcast_enabled
        self.window: WindowModel = window
        self.clock = clock
        self.strict = strict
        self.max_timestamp_age = (
            STRICT_TIMESTAMP_AGE if strict and max_timestamp_age is None else max_timestamp_age
        )
        self._faults = FaultInjector(faults or Faults(), seed)
        self._windows: dict[tuple[str, str], Window] = {}
        self.store = Store(seed)

    def __repr__(self) -> str:  # the secrets stay out of reprs and logs
        apps = sorted(self._apps)
        return (
            f"Emulator(apps={apps!r}, limits={self.limits!r}, window={self.window!r},"
            f" strict={self.strict!r})"
        )

    @property
    def app_key(self) -> str:
        """The first configured app key."""
        return next(iter(self._apps))

    @property
    def app_secret(self) -> str:
        """The secret of `app_key` (for building a client; never logged)."""
        return self._apps[self.app_key]

    @property
    def faults(self) -> Faults:
        """The faults injected from now on; assign a new `Faults` to switch them."""
        return self._faults.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._faults.faults = faults

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer one request. `target`: path and query; `headers`: lower-case names."""
        path, _, query = target.partition("?")
        api = _APIS.get(path)
        if api is None:
            if path.startswith(_control.PREFIX):
                return _control.handle(self, method, path, query, body)
            return error_reply(_NOT_FOUND)
        if method != "POST":
            return error_reply(_NOT_POST)
        now = self.clock()
        outcome, reply, app_key, targets = self._publish(now, api, headers, body)
        self.store.arrivals.append(
            Arrival(time=now, api=api, app_key=app_key, targets=targets, outcome=outcome)
        )
        delay = self._faults.delay()
        return replace(reply, delay=delay) if delay else reply

    def _publish(
        self, now: float, api: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[Outcome, Reply, str, int]:
        """Authenticate and validate, then admit; returns what the arrival log keeps."""
        judge = Judge(strict=self.strict)
        request_id = headers.get("x-request-id")
        try:
            app_key = check_signature(
                headers, self._apps, judge, now=now, max_age=self.max_timestamp_age
            )
        except Rejection as rejection:
            return "rejected", error_reply(rejection), "", 0
        try:
            publish = _CHECKS[api](Form(headers.get("content-type"), body, judge))
        except Rejection as rejection:
            return "rejected", error_reply(rejection), app_key, 0
        finally:
            self._keep_warnings(judge, now, api, app_key, request_id)
        outcome, reply = self._admit(now, app_key, publish, request_id)
        return outcome, reply, app_key, len(publish.targets) or 1

    def _keep_warnings(
        self, judge: Judge, now: float, api: str, app_key: str, request_id: str | None
    ) -> None:
        self.store.warnings.extend(
            FidelityWarning(
                rule=rule,
                field=field,
                detail=detail,
                api=api,
                app_key=app_key,
                request_id=request_id,
                time=now,
            )
            for rule, field, detail in judge.notes
        )

    def _admit(
        self, now: float, app_key: str, publish: Publish, request_id: str | None
    ) -> tuple[Outcome, Reply]:
        """Faults and quota for a valid request; records it when it gets through."""
        faults = self._faults
        if faults.forced_429(now):
            return "injected_rate_limited", self._too_many("rate limit exceeded (injected)")
        error = faults.server_error()
        if error is not None:
            return "server_error", error_reply(error)
        if faults.reset_before():
            return "reset_before", _RESET
        if not self._quota(app_key, publish.api).take(now, len(publish.targets) or 1):
            return "rate_limited", self._too_many(f"{publish.api} publish rate limit exceeded")
        if publish.api == "broadcast" and not self.broadcast_enabled:
            return "rejected", error_reply(_NOT_ENABLED)
        entries = self.store.record(now, app_key, publish, request_id)
        if faults.reset_after():
            return "reset_after", Reply(status=0, body=b"", reset=True, recorded=True)
        answer: dict[str, object] = {"code": 200, "messageUIDs": entries} if entries else _OK
        return "accepted", json_reply(200, answer, recorded=True)

    def _too_many(self, message: str) -> Reply:
        return error_reply(rate_limited(message), self._faults.retry_after_headers())

    def _quota(self, app_key: str, api: str) -> Window:
        key = (app_key, api)
        window = self._windows.get(key)
        if window is None:
            length = WINDOWS.get(api, 1.0)
            window = self._windows[key] = make_window(self.window, self.limits[api], length)
        return window

    @property
    def records(self) -> list[Record]:
        """Every accepted message, one per target, in arrival order."""
        return self.store.records

    @property
    def arrivals(self) -> list[Arrival]:
        """Every publish request, whatever its answer, in arrival order."""
        return self.store.arrivals

    def messages(
        self,
        *,
        group: str | None = None,
        chatroom: str | None = None,
        private: str | None = None,
        system: str | None = None,
        api: str | None = None,
        from_user_id: str | None = None,
        app_key: str | None = None,
    ) -> list[Record]:
        """The accepted messages matching every filter given, in arrival order.

        `group` / `chatroom`: what that group or chatroom received; `private` / `system`:
        what that user received of each; `api`: one API's messages (e.g. "broadcast").
        """
        return self.store.messages(
            group=group,
            chatroom=chatroom,
            private=private,
            system=system,
            api=api,
            from_user_id=from_user_id,
            app_key=app_key,
        )

    def warnings(self) -> list[FidelityWarning]:
        """Every rule relaxed so far (none under strict, which refuses instead), in order."""
        return list(self.store.warnings)

    def stats(self, app_key: str | None = None) -> dict[str, ApiStats]:
        """Per-API statistics ("group", "chatroom", "private", "system", "broadcast") of the
        arrivals, optionally of one app."""
        return self.store.stats(app_key)

    def force_rate_limit(self, *, requests: int = 0, seconds: float = 0.0) -> None:
        """Answer the next `requests` valid publishes, and all for `seconds`, with 429/1008."""
        self._faults.force_rate_limit(self.clock(), requests, seconds)

    def reset(self) -> None:
        """Forget records, arrivals, warnings, quota usage and forced 429 bursts (faults stay)."""
        self.store.clear()
        self._windows.clear()
        self._faults.clear()
