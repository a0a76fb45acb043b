"""What fan-out records per target, and how a request's result or error becomes outcomes.

| request ended with                       | each target's outcome                        |
|------------------------------------------|----------------------------------------------|
| `PublishResult`                          | sent (with its message UID when answered)    |
| `DeliveryUnknownError`, or unsettled     | unknown: the server may have accepted it     |
| `RateLimitedError` (retries used up)     | failed, code 1008, retryable                 |
| `ConnectionFailedError`                  | failed, retryable (nothing reached a server) |
| `JournalLostError`                       | failed, retryable, and the fan-out stops     |
| `RejectedError`, `InvalidRequestError`   | failed with the code / field                 |
| `AuthenticationError`, 1006/1007/1009,   | failed, and the fan-out stops: every other   |
| `LimiterUnavailableError`                | request would fail the same way              |
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec

from .._exceptions import (
    APIError,
    AuthenticationError,
    ConnectionFailedError,
    DeliveryUnknownError,
    InvalidRequestError,
    JournalLostError,
    LimiterUnavailableError,
    RateLimitedError,
    RongCloudError,
)
from .._response import PublishResult

__all__ = [
    "Status",
    "TargetOutcome",
    "invalid",
    "is_fatal",
    "is_unsent",
    "not_sent",
    "outcomes_for",
    "unsettled",
]

Status = Literal["sent", "failed", "unknown"]

#: Body codes that concern the whole app (locked or deleted, IP or method restricted,
#: service not enabled): no later request can succeed, so fan-out stops.
_APP_CODES = frozenset({1006, 1007, 1009})


class TargetOutcome(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """How one target of a fan-out ended; also one line of the journal (JSON).

    `status`: "sent" (accepted), "failed" (not accepted) or "unknown" (may have been accepted:
    never re-sent unless asked). `message_uid`: the server's UID for a sent target, when it
    answered one. `code`: the body code of a failure the server answered (e.g. 1002, 1008).
    `error`: the error's class and text. `retryable`: a failure where sending again is safe
    and may succeed (nothing reached the server, or the quota was exceeded).
    `request_id`: the X-Request-ID of the request that carried the target.
    """

    target: str
    status: Status
    message_uid: str | None = None
    code: int | None = None
    error: str | None = None
    retryable: bool = False
    request_id: str | None = None


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def outcomes_for(
    targets: Sequence[str], request_id: str, result: PublishResult | Exception
) -> list[TargetOutcome]:
    """One outcome per target of a request that ended with `result`.

    An exception rongpub does not raise (a bug, a custom transport's error) leaves the
    targets unknown: nothing tells whether the request went out.
    """
    if isinstance(result, PublishResult):
        uids = result.message_uids
        return [
            TargetOutcome(target=t, status="sent", message_uid=uids.get(t), request_id=request_id)
            for t in targets
        ]
    known = isinstance(result, RongCloudError) and not isinstance(result, DeliveryUnknownError)
    status: Status = "failed" if known else "unknown"
    code = getattr(result, "code", None)
    error = _error_text(result)
    retryable = isinstance(result, RateLimitedError | ConnectionFailedError | JournalLostError)
    return [
        TargetOutcome(
            target=t,
            status=status,
            code=code,
            error=error,
            retryable=retryable,
            request_id=request_id,
        )
        for t in targets
    ]


def invalid(target: object, exc: InvalidRequestError) -> TargetOutcome:
    """The outcome of an id the API would refuse (empty, not a string): never sent."""
    return TargetOutcome(target=str(target), status="failed", error=_error_text(exc))


def unsettled(targets: Sequence[str], request_id: str) -> list[TargetOutcome]:
    """Outcomes of a request still in flight when the grace period after a cancel ended."""
    error = "cancelled before the request settled: the server may have accepted it"
    return [
        TargetOutcome(target=t, status="unknown", error=error, request_id=request_id)
        for t in targets
    ]


_NOT_SENT = "not sent: "


def not_sent(targets: Sequence[str], reason: str) -> list[TargetOutcome]:
    """Outcomes of targets taken from the input but never sent because the fan-out stopped."""
    error = _NOT_SENT + reason
    return [TargetOutcome(target=t, status="failed", error=error, retryable=True) for t in targets]


def is_unsent(outcome: TargetOutcome) -> bool:
    """Whether `outcome` is one of `not_sent`'s: dropped by a stopping run, never sent."""
    return outcome.error is not None and outcome.error.startswith(_NOT_SENT)


def is_fatal(exc: Exception) -> bool:
    """Whether `exc` concerns the whole app, so that every further request would fail too."""
    if isinstance(exc, AuthenticationError | LimiterUnavailableError | JournalLostError):
        return True
    return isinstance(exc, APIError) and exc.code in _APP_CODES
