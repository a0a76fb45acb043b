"""What the core hands to the adapters: a finished reply, or a rejection raised on the way."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import msgspec

__all__ = [
    "JSON_HEADERS",
    "Rejection",
    "Reply",
    "error_reply",
    "json_reply",
    "lower_headers",
]

JSON_HEADERS: tuple[tuple[str, str], ...] = (("content-type", "application/json; charset=utf-8"),)

_encoder = msgspec.json.Encoder()


@dataclass(frozen=True, kw_only=True)
class Reply:
    """The core's answer to one request, for an adapter to put on the wire.

    `delay`: seconds the adapter waits before answering (injected latency).
    `reset`: instead of answering, the adapter drops the connection so the client sees a
    reset; `status`, `headers` and `body` are then unused.
    """

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = JSON_HEADERS
    delay: float = 0.0
    reset: bool = False
    #: True once the publish was accepted and recorded (also for an injected reset after it).
    recorded: bool = False


class Rejection(Exception):
    """A request the emulated server answers with an error (HTTP `status`, body `code`)."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{status}/{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def json_reply(status: int, payload: object, *, recorded: bool = False) -> Reply:
    """A JSON reply with `payload` encoded by msgspec."""
    return Reply(status=status, body=_encoder.encode(payload), recorded=recorded)


def error_reply(rejection: Rejection, extra_headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    """The documented error body `{"code": N, "errorMessage": "..."}`."""
    body = _encoder.encode({"code": rejection.code, "errorMessage": rejection.message})
    return Reply(status=rejection.status, body=body, headers=JSON_HEADERS + extra_headers)


def lower_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Raw (name, value) header pairs as a dict keyed by lower-case name (last one wins)."""
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in raw}
