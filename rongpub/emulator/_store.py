"""The emulator's memory: accepted messages (one record per target) and the arrival log."""

from __future__ import annotations

import base64
import random

from ._leniency import FidelityWarning
from ._records import Arrival, Record
from ._rules import Publish
from ._stats import ApiStats, summarize

__all__ = ["APIS", "WINDOWS", "Store"]

from .._constants import PRIVATE_WINDOW

_TARGET_KEY = {
    "group": "groupId",
    "chatroom": "chatroomId",
    "private": "userId",
    "system": "userId",
}
#: Every API the emulator serves, and the seconds of each quota window.
APIS = ("group", "chatroom", "private", "system", "broadcast")
WINDOWS = {"private": PRIVATE_WINDOW}


class Store:
    """Records and arrivals, with the queries tests ask ("what did group g1 receive")."""

    def __init__(self, seed: int | None) -> None:
        self._uid_rng = random.Random(seed)
        #: Every accepted message, one per target, in arrival order.
        self.records: list[Record] = []
        #: Every publish request, whatever its answer, in arrival order.
        self.arrivals: list[Arrival] = []
        #: Every relaxed rule, one per occurrence, in arrival order.
        self.warnings: list[FidelityWarning] = []

    def record(
        self, now: float, app_key: str, publish: Publish, request_id: str | None
    ) -> list[dict[str, str]]:
        """Store one record per target (one with target "" for a broadcast, which reaches
        every chatroom); returns the `messageUIDs` entries of the answer."""
        entries = []
        for target in publish.targets or ("",):
            uid = self._new_uid()
            self.records.append(
                Record(
                    app_key=app_key,
                    api=publish.api,
                    target_id=target,
                    from_user_id=publish.from_user_id,
                    object_name=publish.object_name,
                    content=publish.content,
                    message_uid=uid,
                    arrival=now,
                    to_user_ids=publish.to_user_ids,
                    fields=publish.fields,
                    request_id=request_id,
                )
            )
            if publish.api in _TARGET_KEY:
                entries.append({_TARGET_KEY[publish.api]: target, "messageUID": uid})
        return entries

    def _new_uid(self) -> str:
        """A message UID shaped like the real ones: 16 characters in groups of 4."""
        chars = base64.b32hexencode(self._uid_rng.randbytes(10)).decode()
        return f"{chars[:4]}-{chars[4:8]}-{chars[8:12]}-{chars[12:]}"

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
        the private or system messages that user received; `api`: one API's messages
        (e.g. "broadcast").
        """
        targets = {"group": group, "chatroom": chatroom, "private": private, "system": system}
        named = [(name, target) for name, target in targets.items() if target is not None]
        wanted = {
            "api": named[0][0] if named else api,
            "target_id": named[0][1] if named else None,
            "from_user_id": from_user_id,
            "app_key": app_key,
        }
        filters = {name: value for name, value in wanted.items() if value is not None}
        return [r for r in self.records if all(getattr(r, k) == v for k, v in filters.items())]

    def stats(self, app_key: str | None = None) -> dict[str, ApiStats]:
        """Per-API statistics (each of `APIS`) of the arrivals, optionally of one app."""
        return {api: self._summary(api, app_key) for api in APIS}

    def _summary(self, api: str, app_key: str | None) -> ApiStats:
        def wanted(item: Arrival | FidelityWarning) -> bool:
            return item.api == api and app_key in (None, item.app_key)

        warnings = sum(1 for warning in self.warnings if wanted(warning))
        arrivals = (a for a in self.arrivals if wanted(a))
        return summarize(arrivals, warnings, WINDOWS.get(api, 1.0))

    def clear(self) -> None:
        """Forget every record, arrival and warning."""
        self.records.clear()
        self.arrivals.clear()
        self.warnings.clear()
