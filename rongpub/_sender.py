"""`Sender`: one request's way out. Wait for quota (`Limiter`) -> send with failover
(`_transport`) -> decode (`_response`) -> `PublishResult`, retrying only what is safe.

The client builds one and hands `send` to the fan-out; nothing here knows the message kinds.

A call's `deadline` (seconds) bounds all of it: expiring while the call waits for quota (or
for its connection, before a byte is written) it raises `QuotaWaitTooLongError`, nothing
sent; while a request is in flight, `DeliveryUnknownError`; before a retry, the last error.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

import anyio
import httpx

from ._config import RetryPolicy
from ._exceptions import (
    ConnectionFailedError,
    DeliveryUnknownError,
    InvalidRequestError,
    QuotaWaitTooLongError,
    RateLimitedError,
    RongCloudError,
)
from ._limit.compat import adapt
from ._limit.leaving import Announced
from ._limit.protocol import Departure, Lane, LegacyLimiter, Limiter, Quota
from ._observe.telemetry import SendRecord, Telemetry
from ._request import Api, PreparedRequest
from ._response import PublishResult, decode
from ._signing import Credentials
from ._transport import Hosts, post, traces_writes

__all__ = ["Sender"]

_CONTENT_TYPE = "application/x-www-form-urlencoded"


class Sender:
    """Sends prepared requests for one client: its hosts, HTTP client, limiter and quotas."""

    def __init__(
        self,
        *,
        credentials: Credentials,
        hosts: Hosts,
        http: httpx.AsyncClient,
        timeout: httpx.Timeout,
        retry: RetryPolicy,
        limiter: Limiter | LegacyLimiter | None,
        quotas: dict[Api, Quota],
        telemetry: Telemetry | None = None,
    ) -> None:
        self._credentials = credentials
        self._hosts = hosts
        self._http = http
        self._timeout = timeout
        self._retry = retry
        self.limiter: Limiter | None = None if limiter is None else adapt(limiter)
        self.quotas = quotas
        self._traced = {url: traces_writes(http, url) for url in hosts.urls}
        self.telemetry = telemetry or Telemetry()

    async def send(
        self,
        request: PreparedRequest,
        *,
        lane: Lane = "interactive",
        max_wait: float | None = None,
        deadline: float | None = None,
        on_leaving: Callable[[], Awaitable[None]] | None = None,
    ) -> PublishResult:
        """Send a prepared request: wait for quota, fail over, retry what is safe.

        `lane` and `max_wait` go to each attempt's `Limiter.acquire`; `deadline`: seconds
        for the whole call (see the module). `on_leaving()` is awaited just before each
        attempt's first byte is written (after the quota and connection waits): the fan-out
        journals the request then, not while it is still queued; an error it raises ends
        the attempt unsent.
        """
        for name, value in (("max_wait", max_wait), ("deadline", deadline)):
            if value is not None and not value >= 0:
                raise InvalidRequestError(name, "must be at least 0 seconds, or None")
        if lane not in ("interactive", "bulk"):
            raise InvalidRequestError("lane", f"{lane!r}; pass 'interactive' or 'bulk'")
        call = _Call(lane, max_wait, deadline)
        record = self.telemetry.send(request, self._hosts.current)
        try:
            result = await self._send(request, call, on_leaving, record)
        except BaseException as exc:
            record.failed(exc)
            raise
        record.sent(result)
        return result

    async def _send(
        self,
        request: PreparedRequest,
        call: _Call,
        on_leaving: Callable[[], Awaitable[None]] | None,
        record: SendRecord,
    ) -> PublishResult:
        quota = self.quotas.get(request.api)
        if quota is not None and request.cost > quota.limit:
            raise InvalidRequestError(
                "to_user_ids" if request.api in ("private", "system") else f"{request.api}_ids",
                f"{request.cost} targets exceed the quota of {quota.limit} per {quota.window:g} s",
            )
        unreachable: set[str] = set()
        rate_limited = unknown = 0
        while True:
            url = self._hosts.current
            try:
                return await self._attempt(request, url, quota, call, on_leaving, record)
            except ConnectionFailedError as exc:
                record.attempt_failed(url, exc)
                call.check(exc)
                self._hosts.connection_failed(url)
                unreachable.add(url)
                if len(unreachable) == len(self._hosts):
                    raise ConnectionFailedError(
                        f"no host could be reached ({', '.join(self._hosts.urls)})",
                        request_id=request.request_id,
                    ) from exc
                _moved(record, url, self._hosts.current, exc)
            except DeliveryUnknownError as exc:
                record.attempt_failed(url, exc)
                self._hosts.delivery_unknown(url)
                unknown += 1
                if unknown > self._retry.unknown:
                    raise
                call.check(exc)
                record.retrying(exc, unknown, self._retry.unknown)
                _moved(record, url, self._hosts.current, exc)
            except QuotaWaitTooLongError:
                raise  # the limiter's (or the deadline's) refusal: nothing was sent
            except RateLimitedError as exc:
                record.attempt_failed(url, exc)
                rate_limited += 1
                if rate_limited > self._retry.rate_limited:
                    raise
                call.check(exc, after=exc.retry_after or 0.0)
                record.retrying(exc, rate_limited, self._retry.rate_limited)
                await self._wait_out(quota, exc.retry_after)

    async def _attempt(
        self,
        request: PreparedRequest,
        url: str,
        quota: Quota | None,
        call: _Call,
        on_leaving: Callable[[], Awaitable[None]] | None,
        record: SendRecord,
    ) -> PublishResult:
        departure: Departure | None = None
        call.written = False
        api = request.api if quota is None else quota.api
        if quota is not None and self.limiter is not None:
            since = record.now()
            with anyio.CancelScope(deadline=call.end) as scope:
                departure = await self.limiter.acquire(
                    quota, request.cost, lane=call.lane, max_wait=call.max_wait_now()
                )
            if scope.cancelled_caught:
                raise call.expired(api, anyio.current_time() - since)
            record.quota_waited(since, lane=call.lane)
        if on_leaving is not None or call.end != math.inf:  # told as the bytes go out
            departure = Announced(departure, call.leaving(on_leaving))
        # Signed inside `post` (after the wait, so the timestamp is fresh however long the
        # queue was); no frame of an error's traceback holds the signed headers.
        with anyio.CancelScope(deadline=call.end) as scope:
            answer = await post(
                self._http,
                url,
                request,
                self._headers,
                self._timeout,
                departure,
                traced=self._traced[url],
            )
        if scope.cancelled_caught:
            if call.written:
                raise DeliveryUnknownError(
                    f"the deadline passed with the request in flight to {url}: "
                    "the server may have accepted the message",
                    request_id=request.request_id,
                )
            raise call.expired(api, None)
        return decode(request, *answer)

    def _headers(self, request: PreparedRequest) -> dict[str, str]:
        """The headers of one attempt, signed anew."""
        headers = self._credentials.headers()
        headers["Content-Type"] = _CONTENT_TYPE
        headers["X-Request-ID"] = request.request_id
        return headers

    async def _wait_out(self, quota: Quota | None, retry_after: float | None) -> None:
        """After a 429: pause the quota for everyone (or just this call when unlimited)."""
        if retry_after is not None:
            retry_after = min(retry_after, self._retry.max_retry_after)
        if quota is not None and self.limiter is not None:
            await self.limiter.pause(quota, retry_after)
        else:
            await anyio.sleep(1.0 if retry_after is None else retry_after)


class _Call:
    """One call's lane and bounds: `end` is the deadline on `anyio.current_time()` (`inf`:
    none); `written` turns true as an attempt's first byte is about to be written."""

    def __init__(self, lane: Lane, max_wait: float | None, deadline: float | None) -> None:
        self.lane = lane
        self.max_wait = max_wait
        self.deadline = deadline
        self.end = math.inf if deadline is None else anyio.current_time() + deadline
        self.written = False

    def max_wait_now(self) -> float | None:
        """The quota wait allowed now: `max_wait`, or less if the deadline comes sooner."""
        if self.end == math.inf:
            return self.max_wait
        left = max(0.0, self.end - anyio.current_time())
        return left if self.max_wait is None else min(self.max_wait, left)

    def check(self, error: RongCloudError, *, after: float = 0.0) -> None:
        """Raise `error` (the last one) if the deadline comes within `after` seconds."""
        if anyio.current_time() + after >= self.end:
            raise error

    def expired(self, api: str, waited: float | None) -> QuotaWaitTooLongError:
        """The error for a deadline that passed before a byte was written."""
        assert self.deadline is not None
        return QuotaWaitTooLongError(
            api=api, wait=self.deadline if waited is None else waited, max_wait=self.deadline
        )

    def leaving(
        self, on_leaving: Callable[[], Awaitable[None]] | None
    ) -> Callable[[], Awaitable[None]]:
        async def announce() -> None:
            if on_leaving is not None:
                await on_leaving()
            self.written = True

        return announce


def _moved(record: SendRecord, url: str, current: str, exc: RongCloudError) -> None:
    """Tell `record` when the call's next attempt goes to another host."""
    if current != url:
        record.failover(url, current, exc)
