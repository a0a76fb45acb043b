"""`RongCloud`: the client. It assembles the collaborators and walks the data path:

build the request (`_request`) -> wait for quota (`Limiter`) -> send with failover
(`_transport`) -> decode (`_response`) -> `PublishResult`, retrying only what is safe.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING

import anyio
import httpx

from ._config import RateLimits, RetryPolicy
from ._constants import APP_KEY_ENV, APP_SECRET_ENV, DEFAULT_TIMEOUT, REGIONS
from ._exceptions import (
    ConnectionFailedError,
    DeliveryUnknownError,
    InvalidRequestError,
    RateLimitedError,
)
from ._fanout.engine import Fanout
from ._fanout.intake import Targets
from ._fanout.options import FANOUT_CHATROOM_PACK, FANOUT_GROUP_PACK, FanoutOptions
from ._limit.leaving import Announced
from ._limit.protocol import Departure, Limiter, Quota
from ._limit.sliding_log import SlidingWindowLimiter
from ._push import PushExt
from ._request import Api, PreparedRequest, Template, chatroom_template, group_template
from ._response import PublishResult, decode
from ._signing import Credentials
from ._transport import Hosts, post, traces_writes
from ._validation import Content

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._fanout.options import FanoutKwargs

__all__ = ["RongCloud"]

_USER_AGENT = "rongpub/0.1"
_CONTENT_TYPE = "application/x-www-form-urlencoded"


def _setting(value: str | None, env: str, field: str) -> str:
    value = value if value is not None else os.environ.get(env)
    if not value:
        raise InvalidRequestError(field, f"pass {field}= or set the {env} environment variable")
    return value


def _base_urls(region: str, base_urls: Sequence[str] | None) -> Sequence[str]:
    if base_urls is not None:
        return base_urls
    if region not in REGIONS:
        raise InvalidRequestError("region", f"{region!r}; choose one of {sorted(REGIONS)}")
    return REGIONS[region]


class RongCloud:
    """An async client for RongCloud's publish API, shared by any number of tasks.

    `app_key` / `app_secret` default to `RONGCLOUD_APP_KEY` / `RONGCLOUD_APP_SECRET`.
    `region`: "cn", "sg", "sg-b", "na" or "sa" (primary and backup hosts).
    `base_urls`: explicit hosts instead, the first primary, the rest failover.
    `rate_limits`: the app's quotas (`None` turns client-side limiting off).
    `limiter`: where quota is counted; default an in-process sliding-window limiter,
    or e.g. `rongpub.redis.RedisLimiter` to share the quota between processes.
    `retry`: what is retried on its own (`RetryPolicy`).
    `timeout`: seconds for connect, write, read and pool waits of each attempt.
    `http_client`: an `httpx.AsyncClient` of your own (you close it).
    """

    def __init__(
        self,
        app_key: str | None = None,
        app_secret: str | None = None,
        *,
        region: str = "cn",
        base_urls: Sequence[str] | None = None,
        rate_limits: RateLimits | None = RateLimits(),  # noqa: B008 (frozen value)
        limiter: Limiter | None = None,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 (frozen value)
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._credentials = Credentials(
            _setting(app_key, APP_KEY_ENV, "app_key"),
            _setting(app_secret, APP_SECRET_ENV, "app_secret"),
        )
        del app_secret  # a failure below must not leave the secret in this frame's locals
        self._hosts = Hosts(_base_urls(region, base_urls))
        self._retry = retry
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            headers={"User-Agent": _USER_AGENT},
        )
        self._traced = {url: traces_writes(self._http, url) for url in self._hosts.urls}
        self._quotas = self._make_quotas(rate_limits)
        self._owns_limiter = limiter is None
        self._limiter: Limiter | None = None
        if rate_limits is not None:
            self._limiter = limiter or SlidingWindowLimiter()

    def _make_quotas(self, limits: RateLimits | None) -> dict[Api, Quota]:
        if limits is None:
            return {}
        scope = self._credentials.app_key
        return {
            "group": Quota(scope, "group", limits.group, limits.margin),
            "chatroom": Quota(scope, "chatroom", limits.chatroom, limits.margin),
        }

    def __repr__(self) -> str:
        # Safe on a client whose __init__ failed half-way (a debugger shows such a `self`).
        credentials = getattr(self, "_credentials", None)
        hosts = getattr(self, "_hosts", None)
        app_key = None if credentials is None else credentials.app_key
        urls = None if hosts is None else list(hosts.urls)
        return f"RongCloud(app_key={app_key!r}, base_urls={urls})"

    async def __aenter__(self) -> RongCloud:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client and limiter this client created (not ones passed in)."""
        if self._owns_limiter and self._limiter is not None:
            await self._limiter.aclose()
        if self._owns_http:
            await self._http.aclose()

    async def publish_group(
        self,
        *,
        from_user_id: str,
        group_ids: Iterable[str],
        content: Content,
        object_name: str | None = None,
        to_user_ids: Iterable[str] | None = None,
        push_content: str | None = None,
        push_data: str | None = None,
        include_sender: bool | None = None,
        persisted: bool | None = None,
        mentioned: bool | None = None,
        content_available: bool | None = None,
        expansion: bool | None = None,
        extra_content: Mapping[str, str] | None = None,
        disable_push: bool | None = None,
        push_ext: PushExt | None = None,
    ) -> PublishResult:
        """Send one message to 1-3 groups (`/message/group/publish.json`).

        `to_user_ids` makes it a directed message to those members of exactly one group.
        `content`: a typed message (its objectName is implied), a dict (sent as JSON) or
        str/bytes (sent as is, for custom types; then `object_name` is required).
        `expansion`, `extra_content` (needs expansion), `disable_push` and `push_ext` need
        exactly one group and no `to_user_ids`. Fields left `None` are not sent (the
        server's defaults apply). Raises `InvalidRequestError` before sending on bad input.
        """
        template = group_template(
            from_user_id=from_user_id,
            content=content,
            object_name=object_name,
            to_user_ids=to_user_ids,
            push_content=push_content,
            push_data=push_data,
            include_sender=include_sender,
            persisted=persisted,
            mentioned=mentioned,
            content_available=content_available,
            expansion=expansion,
            extra_content=extra_content,
            disable_push=disable_push,
            push_ext=push_ext,
        )
        return await self._send(template.to(group_ids))

    async def publish_chatroom(
        self,
        *,
        from_user_id: str,
        chatroom_ids: Iterable[str],
        content: Content,
        object_name: str | None = None,
        persisted: bool | None = None,
        include_sender: bool | None = None,
        priority: int | None = None,
    ) -> PublishResult:
        """Send one message to one or more chatrooms (`/message/chatroom/publish.json`).

        The documents advise at most 10 rooms a request; each room counts against the
        chatroom quota. `priority`: 0 default, 1 whitelist, 2 high, 3 low.
        """
        template = chatroom_template(
            from_user_id=from_user_id,
            content=content,
            object_name=object_name,
            persisted=persisted,
            include_sender=include_sender,
            priority=priority,
        )
        return await self._send(template.to(chatroom_ids))

    async def _send(
        self, request: PreparedRequest, *, on_leaving: Callable[[], None] | None = None
    ) -> PublishResult:
        """Send a prepared request: wait for quota, fail over, retry what is safe.

        `on_leaving()` is called just before each attempt's first byte is written (after the
        quota and connection waits): the fan-out journals the request then, not while it
        is still queued.
        """
        quota = self._quotas.get(request.api)
        if quota is not None and request.cost > quota.limit:
            raise InvalidRequestError(
                f"{request.api}_ids",
                f"{request.cost} targets exceed the quota of {quota.limit} per second",
            )
        unreachable: set[str] = set()
        rate_limited = unknown = 0
        while True:
            url = self._hosts.current
            try:
                return await self._attempt(request, url, quota, on_leaving)
            except ConnectionFailedError as exc:
                self._hosts.connection_failed(url)
                unreachable.add(url)
                if len(unreachable) == len(self._hosts):
                    raise ConnectionFailedError(
                        f"no host could be reached ({', '.join(self._hosts.urls)})",
                        request_id=request.request_id,
                    ) from exc
            except DeliveryUnknownError:
                self._hosts.delivery_unknown(url)
                unknown += 1
                if unknown > self._retry.unknown:
                    raise
            except RateLimitedError as exc:
                rate_limited += 1
                if rate_limited > self._retry.rate_limited:
                    raise
                await self._wait_out(quota, exc.retry_after)

    async def _attempt(
        self,
        request: PreparedRequest,
        url: str,
        quota: Quota | None,
        on_leaving: Callable[[], None] | None,
    ) -> PublishResult:
        departure: Departure | None = None
        if quota is not None and self._limiter is not None:
            departure = await self._limiter.acquire(quota, request.cost)
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
        if quota is not None and self._limiter is not None:
            await self._limiter.pause(quota, retry_after)
        else:
            await anyio.sleep(1.0 if retry_after is None else retry_after)

    def fanout_group(
        self,
        group_ids: Targets,
        *,
        from_user_id: str,
        content: Content,
        object_name: str | None = None,
        to_user_ids: Iterable[str] | None = None,
        push_content: str | None = None,
        push_data: str | None = None,
        include_sender: bool | None = None,
        persisted: bool | None = None,
        mentioned: bool | None = None,
        content_available: bool | None = None,
        expansion: bool | None = None,
        extra_content: Mapping[str, str] | None = None,
        disable_push: bool | None = None,
        push_ext: PushExt | None = None,
        pack_size: int = FANOUT_GROUP_PACK,
        **options: Unpack[FanoutKwargs],
    ) -> Fanout:
        """One message to every group of `group_ids` (any iterable or async iterable, read
        lazily); `report = await rc.fanout_group(...)`. Message fields as `publish_group`.

        Targets are packed up to `pack_size` (1-3) per request (one when the message needs
        a single group) in sizes that keep the whole quota busy. Options (keyword):
        `journal` (path of the JSONL journal: resume by re-running with it),
        `resend_unknown` (resend targets the journal left unknown), `on_progress`
        (called with the live `FanoutReport` every `progress_interval` seconds and at the
        end), `concurrency` (requests in flight; default derived from quota and latency),
        `keep_results` ("problems", "all" or "none"), `dedupe` (ignore repeated ids;
        ~32 bytes per target), `grace` (seconds in-flight requests get after a cancel),
        `total` (number of targets, for the ETA). See `FanoutReport` and the README.
        """
        template = group_template(
            from_user_id=from_user_id,
            content=content,
            object_name=object_name,
            to_user_ids=to_user_ids,
            push_content=push_content,
            push_data=push_data,
            include_sender=include_sender,
            persisted=persisted,
            mentioned=mentioned,
            content_available=content_available,
            expansion=expansion,
            extra_content=extra_content,
            disable_push=disable_push,
            push_ext=push_ext,
        )
        return self._fanout(template, group_ids, FanoutOptions(pack_size=pack_size, **options))

    def fanout_chatroom(
        self,
        chatroom_ids: Targets,
        *,
        from_user_id: str,
        content: Content,
        object_name: str | None = None,
        persisted: bool | None = None,
        include_sender: bool | None = None,
        priority: int | None = None,
        pack_size: int = FANOUT_CHATROOM_PACK,
        **options: Unpack[FanoutKwargs],
    ) -> Fanout:
        """One message to every chatroom of `chatroom_ids`, `pack_size` (default 10) per
        request; message fields as `publish_chatroom`, options as `fanout_group`."""
        template = chatroom_template(
            from_user_id=from_user_id,
            content=content,
            object_name=object_name,
            persisted=persisted,
            include_sender=include_sender,
            priority=priority,
        )
        return self._fanout(template, chatroom_ids, FanoutOptions(pack_size=pack_size, **options))

    def _fanout(self, template: Template, targets: Targets, options: FanoutOptions) -> Fanout:
        quota = self._quotas.get(template.api)
        return Fanout(self._send, template, targets, quota=quota, options=options)
