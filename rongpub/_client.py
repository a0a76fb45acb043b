"""`RongCloud`: the client. It assembles the collaborators and offers the calls:

build the request (`_request`) -> `Sender.send` (quota, failover, retries, decoding), or a
`Fanout` of many such sends.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from ._config import DEFAULT, Default, RateLimits, RetryPolicy, or_default
from ._constants import APP_KEY_ENV, APP_SECRET_ENV, DEFAULT_TIMEOUT, PRIVATE_WINDOW, REGIONS
from ._exceptions import (
    InvalidRequestError,
)
from ._family.calls import FamilyCalls
from ._fanout.engine import Fanout
from ._fanout.intake import Targets
from ._fanout.options import FANOUT_CHATROOM_PACK, FANOUT_GROUP_PACK, FanoutOptions
from ._limit.protocol import Lane, LegacyLimiter, Limiter, Quota
from ._limit.sliding_log import SlidingWindowLimiter
from ._observe.telemetry import Telemetry
from ._outgoing import (
    ChatroomMessage,
    GroupMessage,
    OutgoingMessage,
    split_fanout_kwargs,
)
from ._request import Api, ChatroomFields, GroupFields, Template
from ._response import PublishResult
from ._sender import Sender
from ._signing import Credentials
from ._transport import Hosts

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider
    from typing_extensions import Unpack

    from ._fanout.options import FanoutKwargs
    from ._outgoing import ChatroomFanoutKwargs, GroupFanoutKwargs

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
    `max_wait` / `deadline`: the defaults of `publish`'s (seconds; `None`: unbounded).
    `http_client`: an `httpx.AsyncClient` of your own (you close it).
    `tracer_provider` / `meter_provider`: where spans and metrics go when opentelemetry-api
    is installed (`rongpub[otel]`); default the global providers (docs: observability).
    """

    def __init__(
        self,
        app_key: str | None = None,
        app_secret: str | None = None,
        *,
        region: str = "cn",
        base_urls: Sequence[str] | None = None,
        rate_limits: RateLimits | None = RateLimits(),  # noqa: B008 (frozen value)
        limiter: Limiter | LegacyLimiter | None = None,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 (frozen value)
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        http_client: httpx.AsyncClient | None = None,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        max_wait: float | None = None,
        deadline: float | None = None,
    ) -> None:
        self._max_wait, self._deadline = max_wait, deadline
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
            telemetry=Telemetry(tracer_provider=tracer_provider, meter_provider=meter_provider),
        )

    def _make_quotas(self, limits: RateLimits | None) -> dict[Api, Quota]:
        if limits is None:
            return {}
        scope = self._credentials.app_key
        share, margin = limits.bulk_share, limits.margin
        return {
            "group": Quota(scope, "group", limits.group, margin, bulk_share=share),
            "chatroom": Quota(scope, "chatroom", limits.chatroom, margin, bulk_share=share),
            "private": Quota(scope, "private", limits.private, margin, PRIVATE_WINDOW, share),
            "system": Quota(scope, "system", limits.system, margin, bulk_share=share),
            "broadcast": Quota(scope, "broadcast", limits.broadcast, margin, bulk_share=share),
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

    async def publish(
        self,
        message: OutgoingMessage[Any],
        *,
        to: Iterable[str],
        lane: Lane = "interactive",
        max_wait: float | Default | None = DEFAULT,
        deadline: float | Default | None = DEFAULT,
    ) -> PublishResult:
        """Send `message` to the targets `to`: 1-3 group ids for a `GroupMessage`, chatroom
        ids for a `ChatroomMessage` (the documents advise at most 10 a request). Each target
        counts against the app's quota of that kind. Raises `InvalidRequestError` before
        sending on bad targets; see the error tree for what a send can raise.

        `lane`: "interactive" goes before waiting fan-outs ("bulk"). `max_wait`: seconds
        of quota wait; a longer known wait raises `QuotaWaitTooLongError` at once, nothing
        sent. `deadline`: seconds for the whole call (quota, attempts, 429 retries). Both
        default to the client's; `None` is unbounded. Guide: rate limiting."""
        return await self._sender.send(
            _template(message).to(to),
            lane=lane,
            max_wait=or_default(max_wait, self._max_wait),
            deadline=or_default(deadline, self._deadline),
        )

    def fanout(
        self,
        message: OutgoingMessage[Any],
        targets: Targets,
        *,
        pack_size: int | None = None,
        **options: Unpack[FanoutKwargs],
    ) -> Fanout:
        """`message` to every target of `targets` (any iterable or async iterable, read
        lazily); `report = await rc.fanout(message, ids)`.

        Targets are packed up to `pack_size` per request (default: 3 groups, or one when the
        message needs a single group; 10 chatrooms) in sizes that keep the whole quota busy.
        Options (keyword): `journal` (a path of a JSONL journal, or a journal object such as
        `rongpub.redis.RedisJournal`: resume by re-running with it), `resend_unknown`
        (resend targets the journal left unknown), `on_progress` (called with the live
        `FanoutReport` every `progress_interval` seconds and at the end), `concurrency`
        (requests in flight; default derived from quota and latency), `lane` ("bulk" by
        default: interactive publish calls go first), `keep_results`
        ("problems", "all" or "none"), `dedupe` (ignore repeated ids; ~32 bytes per
        target), `grace` (seconds in-flight requests get after a cancel), `total` (number of
        targets, for the ETA). See `FanoutReport` and the docs' fan-out guide.
        """
        template = _template(message)
        size = message.default_pack if pack_size is None else pack_size
        quota = self._sender.quotas.get(template.api)
        fanout_options = FanoutOptions(pack_size=size, **options)
        return Fanout(
            functools.partial(self._sender.send, lane=fanout_options.lane),
            template,
            targets,
            quota=quota,
            options=fanout_options,
            telemetry=self._sender.telemetry,
        )

    async def publish_group(
        self,
        *,
        group_ids: Iterable[str],
        lane: Lane = "interactive",
        max_wait: float | Default | None = DEFAULT,
        deadline: float | Default | None = DEFAULT,
        **fields: Unpack[GroupFields],
    ) -> PublishResult:
        """Send one message to 1-3 groups: `publish(GroupMessage(**fields), to=group_ids,
        lane=..., max_wait=..., deadline=...)`. The fields are those of `GroupFields`."""
        return await self.publish(
            GroupMessage(**fields), to=group_ids, lane=lane, max_wait=max_wait, deadline=deadline
        )

    async def publish_chatroom(
        self,
        *,
        chatroom_ids: Iterable[str],
        lane: Lane = "interactive",
        max_wait: float | Default | None = DEFAULT,
        deadline: float | Default | None = DEFAULT,
        **fields: Unpack[ChatroomFields],
    ) -> PublishResult:
        """Send one message to chatrooms: `publish(ChatroomMessage(**fields), to=..., ...)`."""
        return await self.publish(
            ChatroomMessage(**fields),
            to=chatroom_ids,
            lane=lane,
            max_wait=max_wait,
            deadline=deadline,
        )

    def fanout_group(
        self,
        group_ids: Targets,
        *,
        pack_size: int = FANOUT_GROUP_PACK,
        **fields_and_options: Unpack[GroupFanoutKwargs],
    ) -> Fanout:
        """`fanout(GroupMessage(**fields), group_ids, **options)`: the `GroupFields` and the
        options of `fanout` as keywords."""
        fields, options = split_fanout_kwargs(fields_and_options)
        return self.fanout(GroupMessage(**fields), group_ids, pack_size=pack_size, **options)

    def fanout_chatroom(
        self,
        chatroom_ids: Targets,
        *,
        pack_size: int = FANOUT_CHATROOM_PACK,
        **fields_and_options: Unpack[ChatroomFanoutKwargs],
    ) -> Fanout:
        """`fanout(ChatroomMessage(**fields), chatroom_ids, **options)`."""
        fields, options = split_fanout_kwargs(fields_and_options)
        return self.fanout(ChatroomMessage(**fields), chatroom_ids, pack_size=pack_size, **options)


def _template(message: object) -> Template:
    if not isinstance(message, OutgoingMessage):
        raise InvalidRequestError(
            "message",
            "must be a GroupMessage, ChatroomMessage, PrivateMessage or SystemMessage, "
            f"got {type(message).__name__}",
        )
    return message.template
