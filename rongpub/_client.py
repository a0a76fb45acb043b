"""`RongCloud`: the client. It assembles the collaborators and offers the calls:

build the request (`_request`) -> `Sender.send` (quota, failover, retries, decoding), or a
`Fanout` of many such sends.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING

import httpx

from ._config import RateLimits, RetryPolicy
from ._constants import APP_KEY_ENV, APP_SECRET_ENV, DEFAULT_TIMEOUT, PRIVATE_WINDOW, REGIONS
from ._exceptions import (
    InvalidRequestError,
)
from ._family.calls import FamilyCalls
from ._fanout.engine import Fanout
from ._fanout.intake import Targets
from ._fanout.options import FANOUT_CHATROOM_PACK, FANOUT_GROUP_PACK, FanoutOptions
from ._limit.protocol import Limiter, Quota
from ._limit.sliding_log import SlidingWindowLimiter
from ._push import PushExt
from ._request import Api, Template, chatroom_template, group_template
from ._response import PublishResult
from ._sender import Sender
from ._signing import Credentials
from ._transport import Hosts
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


class RongCloud(FamilyCalls):
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
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            headers={"User-Agent": _USER_AGENT},
        )
        self._owns_limiter = limiter is None
        if rate_limits is None:
            limiter = None
        elif limiter is None:
            limiter = SlidingWindowLimiter()
        self._sender = Sender(
            credentials=self._credentials,
            hosts=self._hosts,
            http=self._http,
            timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
            retry=retry,
            limiter=limiter,
            quotas=self._make_quotas(rate_limits),
        )

    def _make_quotas(self, limits: RateLimits | None) -> dict[Api, Quota]:
        if limits is None:
            return {}
        scope = self._credentials.app_key
        return {
            "group": Quota(scope, "group", limits.group, limits.margin),
            "chatroom": Quota(scope, "chatroom", limits.chatroom, limits.margin),
            "private": Quota(scope, "private", limits.private, limits.margin, PRIVATE_WINDOW),
            "system": Quota(scope, "system", limits.system, limits.margin),
            "broadcast": Quota(scope, "broadcast", limits.broadcast, limits.margin),
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
        limiter = self._sender.limiter
        if self._owns_limiter and limiter is not None:
            await limiter.aclose()
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
        return await self._sender.send(template.to(group_ids))

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
        return await self._sender.send(template.to(chatroom_ids))

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
        quota = self._sender.quotas.get(template.api)
        return Fanout(self._sender.send, template, targets, quota=quota, options=options)
