"""`Sender`: one request's way out. Wait for quota (`Limiter`) -> send with failover
(`_transport`) -> decode (`_response`) -> `PublishResult`, retrying only what is safe.

The client builds one and hands `send` to the fan-out; nothing here knows the message kinds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import httpx

from ._config import RetryPolicy
from ._exceptions import (
    ConnectionFailedError,
    DeliveryUnknownError,
    InvalidRequestError,
    RateLimitedError,
    RongCloudError,
)
from ._limit.leaving import Announced
from ._limit.protocol import Departure, Limiter, Quota
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
        limiter: Limiter | None,
        quotas: dict[Api, Quota],
        telemetry: Telemetry | None = None,
    ) -> None:
        self._credentials = credentials
        self._hosts = hosts
        self._http = http
        self._timeout = timeout
        self._retry = retry
        self.limiter = limiter
        self.quotas = quotas
        self._traced = {url: traces_writes(http, url) for url in hosts.urls}
        self.telemetry = telemetry or Telemetry()

    async def send(
        self, request: PreparedRequest, *, on_leaving: Callable[[], Awaitable[None]] | None = None
    ) -> PublishResult:
        """Send a prepared request: wait for quota, fail over, retry what is safe.

        `on_leaving()` is awaited just before each attempt's first byte is written (after the
        quota and connection waits): the fan-out journals the request then, not while it
        is still queued; an error it raises ends the attempt unsent.
        """
        record = self.telemetry.send(request, self._hosts.current)
        try:
            result = await self._send(request, on_leaving, record)
        except BaseException as exc:
            record.failed(exc)
            raise
        record.sent(result)
        return result

    async def _send(
        self,
        request: PreparedRequest,
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
                return await self._attempt(request, url, quota, on_leaving, record)
            except ConnectionFailedError as exc:
                record.attempt_failed(url, exc)
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
                record.retrying(exc, unknown, self._retry.unknown)
                _moved(record, url, self._hosts.current, exc)
            except RateLimitedError as exc:
                record.attempt_failed(url, exc)
                rate_limited += 1
                if rate_limited > self._retry.rate_limited:
                    raise
                record.retrying(exc, rate_limited, self._retry.rate_limited)
                await self._wait_out(quota, exc.retry_after)

    async def _attempt(
        self,
        request: PreparedRequest,
        url: str,
        quota: Quota | None,
        on_leaving: Callable[[], Awaitable[None]] | None,
        record: SendRecord,
    ) -> PublishResult:
        departure: Departure | None = None
        if quota is not None and self.limiter is not None:
            since = record.now()
            departure = await self.limiter.acquire(quota, request.cost)
            record.quota_waited(since)
        if on_leaving is not None:  # told as the bytes are about to go out
            departure = Announced(departure, on_leaving)
        # Signed inside `post` (after the wait, so the timestamp is fresh however long the
        # queue was); no frame of an error's traceback holds the signed headers.
        answer = await post(
            self._http,
            url,
            request,
            self._headers,
            self._timeout,
            departure,
            traced=self._traced[url],
        )
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


def _moved(record: SendRecord, url: str, current: str, exc: RongCloudError) -> None:
    """Tell `record` when the call's next attempt goes to another host."""
    if current != url:
        record.failover(url, current, exc)
