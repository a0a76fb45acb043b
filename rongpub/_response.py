"""Step 4 of the data path: turn the server's answer into a result or the right error.

| answer                              | outcome                                   |
|-------------------------------------|-------------------------------------------|
| body code 200                       | `PublishResult`                           |
| HTTP 429 or code 1008               | `RateLimitedError` (the client retries)   |
| code 1001 / 1004                    | `AuthenticationError`                     |
| HTTP 5xx, or a 200 without a body   | `DeliveryUnknownError` (may be accepted)  |
| any other code                      | `RejectedError`                           |
"""

from __future__ import annotations

import contextlib
import email.utils
import time
from collections.abc import Mapping

import msgspec

from ._exceptions import (
    APIError,
    AuthenticationError,
    DeliveryUnknownError,
    RateLimitedError,
    RejectedError,
)
from ._request import PreparedRequest

__all__ = ["PublishResult", "decode", "parse_retry_after"]


class PublishResult(msgspec.Struct, frozen=True, kw_only=True):
    """A message the server accepted.

    `message_uids` maps each target id to its message UID (empty if the server sent none),
    `code` is the body code (200), `request_id` the X-Request-ID sent with the call.
    """

    message_uids: dict[str, str]
    code: int
    request_id: str


class _Uid(msgspec.Struct):
    messageUID: str | None = None
    groupId: str | None = None
    chatroomId: str | None = None
    userId: str | None = None


class _Reply(msgspec.Struct):
    code: int
    errorMessage: str = ""
    messageUIDs: list[_Uid] | None = None


_decoder = msgspec.json.Decoder(_Reply)
_AUTH_CODES = frozenset({1001, 1004})


def decode(
    request: PreparedRequest, status: int, body: bytes, headers: Mapping[str, str]
) -> PublishResult:
    """The result of `request`, or raise the error its answer means.

    `headers` are read only for a rate limit's Retry-After: each lookup in httpx's headers
    scans them all, which an accepted send need not pay.
    """
    try:
        reply = _decoder.decode(body)
    except msgspec.DecodeError:
        reply = None
    if reply is not None and reply.code == 200 and status < 300:
        return PublishResult(
            message_uids=_uids(reply), code=reply.code, request_id=request.request_id
        )
    code = reply.code if reply is not None else status
    message = reply.errorMessage if reply is not None else body[:200].decode("utf-8", "replace")
    request_id = request.request_id
    if status == 429 or code == 1008:
        raise RateLimitedError(
            code=code,
            message=message,
            status_code=status,
            request_id=request_id,
            retry_after=parse_retry_after(headers),
        )
    if status >= 500 or reply is None:
        raise DeliveryUnknownError(
            f"HTTP {status}, code {code}: the server may have accepted the message",
            request_id=request_id,
            status_code=status,
            code=code,
        )
    error: type[APIError] = AuthenticationError if code in _AUTH_CODES else RejectedError
    raise error(code=code, message=message, status_code=status, request_id=request_id)


def _uids(reply: _Reply) -> dict[str, str]:
    uids: dict[str, str] = {}
    for entry in reply.messageUIDs or ():
        target = entry.groupId or entry.chatroomId or entry.userId
        if target is not None and entry.messageUID is not None:
            uids[target] = entry.messageUID
    return uids


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asks to wait: `Retry-After-Ms`, or `Retry-After` as seconds or an
    HTTP date; `None` when absent or unreadable."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        with contextlib.suppress(ValueError):
            return max(0.0, float(millis) / 1000)
    value = headers.get("retry-after")
    if value is None:
        return None
    with contextlib.suppress(ValueError):
        return max(0.0, float(value))
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))
