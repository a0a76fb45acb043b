"""What the emulator remembers: every accepted message, and the arrival of every request."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

__all__ = ["Arrival", "Outcome", "Record"]

#: How a publish request ended. "accepted" and "reset_after" were recorded as delivered.
Outcome = Literal[
    "accepted",
    "rate_limited",
    "injected_rate_limited",
    "rejected",
    "server_error",
    "reset_before",
    "reset_after",
]


class Record(msgspec.Struct, frozen=True, kw_only=True):
    """One accepted message as one target received it.

    `api`: "group" or "chatroom". `target_id`: the group or chatroom id.
    `fields`: every other form field as sent (e.g. `pushContent`, `isPersisted`).
    `arrival`: seconds on the emulator's clock when the request arrived.
    `request_id`: the `X-Request-ID` header, when the client sent one.
    """

    app_key: str
    api: str
    target_id: str
    from_user_id: str
    object_name: str
    content: str
    message_uid: str
    arrival: float
    to_user_ids: tuple[str, ...] = ()
    fields: dict[str, str] = msgspec.field(default_factory=dict)
    request_id: str | None = None

    def content_json(self) -> Any:
        """`content` decoded from JSON (built-in message types always carry a JSON object)."""
        return msgspec.json.decode(self.content)


class Arrival(msgspec.Struct, frozen=True, kw_only=True):
    """One publish request as it arrived, whatever the answer.

    `time`: seconds on the emulator's clock. `targets`: groups or chatrooms addressed
    (0 when the request was rejected before they were read). `app_key`: "" when unknown.
    """

    time: float
    api: str
    app_key: str
    targets: int
    outcome: Outcome
