"""An httpx.MockTransport that records requests and answers from a script (no sockets)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx

from rongpub import RateLimits, RetryPolicy, RongCloud
from rongpub._limit.protocol import LegacyLimiter, Limiter

Answer = httpx.Response | Exception
OK = b'{"code":200}'


class MockAPI:
    """Answers each request with the next scripted answer (or `default`), recording it."""

    def __init__(self, *answers: Answer, default: Callable[[httpx.Request], Answer] | None = None):
        self.answers = list(answers)
        self.default = default or _echo_uids
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if self.answers else self.default(request)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def client(
        self,
        *,
        base_urls: tuple[str, ...] = ("https://primary.test", "https://backup.test"),
        rate_limits: RateLimits | None = None,
        limiter: Limiter | LegacyLimiter | None = None,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008
        **options: Any,
    ) -> RongCloud:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self))
        return RongCloud(
            "key",
            "Ab3Xy9secret",
            base_urls=base_urls,
            rate_limits=rate_limits,
            limiter=limiter,
            retry=retry,
            http_client=http,
            **options,
        )

    def form(self, index: int = -1) -> list[tuple[str, str]]:
        return parse_qsl(self.requests[index].content.decode("ascii"), keep_blank_values=True)


def _echo_uids(request: httpx.Request) -> httpx.Response:
    pairs = parse_qsl(request.content.decode("ascii"))
    path = request.url.path
    users = path.endswith(("private/publish.json", "system/publish.json"))
    key = "userId" if users else "groupId" if path.endswith("group/publish.json") else "chatroomId"
    names = ("toUserId",) if users else ("toGroupId", "toChatroomId")
    targets = [v for k, v in pairs if k in names]
    uids = [{key: target, "messageUID": f"UID-{target}"} for target in targets]
    return httpx.Response(200, json={"code": 200, "messageUIDs": uids})


def reply(status: int, code: int, message: str = "", **headers: str) -> httpx.Response:
    body = {"code": code, "errorMessage": message}
    return httpx.Response(
        status, json=body, headers={k.replace("_", "-"): v for k, v in headers.items()}
    )
