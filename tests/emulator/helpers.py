"""Building signed requests for the emulator's core, without any client library."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from rongpub.emulator import Emulator
from rongpub.emulator._auth import sign
from rongpub.emulator._wire import Reply

KEY = "test-key"
SECRET = "test-secret"
APPS = {KEY: SECRET}
GROUP = "/message/group/publish.json"
CHATROOM = "/message/chatroom/publish.json"
FORM_TYPE = "application/x-www-form-urlencoded"
TEXT = '{"content":"hello"}'
#: Seconds since the epoch of the Timestamp `signed()` sends by default.
SIGNED_AT = 1_585_127_132.438

Fields = Mapping[str, str | Sequence[str]]


class FakeClock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def signed(
    key: str = KEY,
    secret: str = SECRET,
    *,
    nonce: str = "n0nce",
    timestamp: str = "1585127132438",
    prefix: str = "",
) -> dict[str, str]:
    """Lower-case signature headers (optionally `RC-` prefixed) plus the form content type."""
    values = {
        "app-key": key,
        "nonce": nonce,
        "timestamp": timestamp,
        "signature": sign(secret, nonce, timestamp),
    }
    headers = {prefix.lower() + name: value for name, value in values.items()}
    headers["content-type"] = FORM_TYPE
    return headers


def group_form(**fields: str | Sequence[str]) -> dict[str, str | Sequence[str]]:
    """A valid group publish form to g1; keyword arguments add or replace fields."""
    form: dict[str, str | Sequence[str]] = {
        "fromUserId": "u1",
        "toGroupId": "g1",
        "objectName": "RC:TxtMsg",
        "content": TEXT,
    }
    form.update(fields)
    return form


def chatroom_form(**fields: str | Sequence[str]) -> dict[str, str | Sequence[str]]:
    """A valid chatroom publish form to c1; keyword arguments add or replace fields."""
    form: dict[str, str | Sequence[str]] = {
        "fromUserId": "u1",
        "toChatroomId": "c1",
        "objectName": "RC:TxtMsg",
        "content": TEXT,
    }
    form.update(fields)
    return form


def encode(fields: Fields) -> bytes:
    """The form body; sequences become repeated keys."""
    return urlencode(fields, doseq=True).encode()


def post(
    emulator: Emulator,
    fields: Fields,
    path: str = GROUP,
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """Send a signed form straight to the core."""
    return emulator.handle("POST", path, headers or signed(), encode(fields))


def answer(reply: Reply) -> dict[str, Any]:
    """The reply's JSON body."""
    body: dict[str, Any] = json.loads(reply.body)
    return body


def code(reply: Reply) -> tuple[int, int]:
    """(HTTP status, body code) of a reply."""
    return reply.status, answer(reply)["code"]
