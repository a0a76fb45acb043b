"""Everything rongpub raises, as one shallow tree whose leaves a caller can act on.

```
RongCloudError
├── InvalidRequestError (also ValueError)  bad input or configuration: nothing was sent
├── APIError                               the server answered with a code other than 200
│   ├── RateLimitedError                   429 / 1008: not accepted, safe to retry later
│   │   └── QuotaWaitTooLongError          the quota wait would exceed max_wait: not sent
│   ├── AuthenticationError                1001 / 1004: wrong app key, secret or signature
│   └── RejectedError                      any other code: the server refused this request
├── ConnectionFailedError                  no byte reached the server: safe to retry
├── DeliveryUnknownError                   the server may have accepted the message
├── LimiterUnavailableError                a shared limiter backend cannot be reached
├── JournalInUseError                      another run holds the fan-out journal: nothing sent
└── JournalLostError                       the run can no longer write its journal: it stopped
```

`APIError` subclasses mean the server *answered* and did not accept the message.
`DeliveryUnknownError` covers a read timeout, a connection reset after the request was
written, and HTTP 5xx answers: retrying any of them may duplicate a chat message, so
rongpub never does so unless the caller opts in.

No exception carries the app secret: messages are built from codes, fields and hosts only.
"""

from __future__ import annotations

import time

__all__ = [
    "APIError",
    "AuthenticationError",
    "ConnectionFailedError",
    "DeliveryUnknownError",
    "InvalidRequestError",
    "JournalInUseError",
    "JournalLostError",
    "LimiterUnavailableError",
    "QuotaWaitTooLongError",
    "RateLimitedError",
    "RejectedError",
    "RongCloudError",
]


class RongCloudError(Exception):
    """Base class of every error rongpub raises."""


class InvalidRequestError(RongCloudError, ValueError):
    """A parameter breaks a rule of the API documents; nothing was sent and no quota spent.

    `field` names the offending parameter by its Python name (`group_ids`, `push_ext.title`).
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class APIError(RongCloudError):
    """The server answered with a non-success code; the message was not accepted.

    Attributes: `code` (body code, e.g. 1002), `message` (the server's `errorMessage`),
    `status_code` (HTTP status), `request_id` (the `X-Request-ID` rongpub sent).
    """

    def __init__(
        self, *, code: int, message: str, status_code: int, request_id: str | None = None
    ) -> None:
        text = f"RongCloud answered HTTP {status_code}, code {code}"
        if message:
            text += f": {message}"
        if request_id:
            text += f" (request id {request_id})"
        super().__init__(text)
        self.code = code
        self.message = message
        self.status_code = status_code
        self.request_id = request_id


class RateLimitedError(APIError):
    """HTTP 429 / code 1008 after the retry budget ran out; nothing was accepted.

    `retry_after` is the server's hint in seconds when it sent one, else `None`.
    """

    def __init__(
        self,
        *,
        code: int,
        message: str,
        status_code: int,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(code=code, message=message, status_code=status_code, request_id=request_id)
        self.retry_after = retry_after


class QuotaWaitTooLongError(RateLimitedError):
    """The wait for quota would exceed `max_wait`; nothing was sent and no quota taken.

    `wait`: seconds the call would have waited (also `retry_after`); `max_wait`: the bound
    it was given (seconds); `api`: the quota's API ("group" or "chatroom").
    """

    def __init__(self, *, api: str, wait: float, max_wait: float) -> None:
        RongCloudError.__init__(
            self, f"the {api} quota is free in {wait:.3f} s, over max_wait={max_wait} s"
        )
        self.code = 1008
        self.message = "quota wait over max_wait"
        self.status_code = 429
        self.request_id: str | None = None
        self.retry_after: float | None = wait
        self.wait = wait
        self.max_wait = max_wait
        self.api = api


class AuthenticationError(APIError):
    """Code 1001 (wrong app key or secret) or 1004 (signature rejected)."""


class RejectedError(APIError):
    """The server refused the request with a code the caller must act on (e.g. 1002)."""


class ConnectionFailedError(RongCloudError):
    """Every host was tried and no byte of the request reached a server; safe to retry."""

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


class DeliveryUnknownError(RongCloudError):
    """The request may have been accepted: a timeout or reset after sending, or an HTTP 5xx.

    `status_code` / `code` are set when the server answered (5xx), else `None`.
    """

    def __init__(
        self,
        message: str,
        *,
        request_id: str | None = None,
        status_code: int | None = None,
        code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.request_id = request_id
        self.status_code = status_code
        self.code = code


class LimiterUnavailableError(RongCloudError):
    """A shared rate limiter backend (e.g. Redis) failed; nothing was sent."""


class JournalInUseError(RongCloudError):
    """Another fan-out run (this process or another) is writing the journal; nothing was sent.

    A journal has one writer at a time. `journal`: its path; `pid`, `host` and `started`
    (Unix time) name the holder when it could be read. Retry once that run has ended.
    """

    def __init__(
        self,
        journal: str,
        *,
        pid: int | None = None,
        host: str | None = None,
        started: float | None = None,
    ) -> None:
        holder = "another fan-out run"
        if pid is not None:
            since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(started or 0))
            holder = f"pid {pid} on {host} (since {since})"
        super().__init__(f"journal {journal} is in use by {holder}; nothing was sent")
        self.journal = journal
        self.pid = pid
        self.host = host
        self.started = started


class JournalLostError(RongCloudError):
    """A fan-out run lost the right to write its journal (its Redis lease expired or was
    taken over, or Redis did not answer before the lease ran out): it sends nothing more.

    The request that met it was not sent. `journal` names the journal. Resume with a new
    run once the cause is fixed: targets whose outcome was not recorded are unknown.
    """

    def __init__(self, journal: str, reason: str) -> None:
        super().__init__(f"journal {journal}: {reason}; the fan-out stopped")
        self.journal = journal
        self.reason = reason
