"""The app secret and the signature headers stay out of errors (issue #13 case 13): not in
the error, its causes or contexts, nor in the locals of any frame of their tracebacks; and
`repr` of a half-built client does not raise."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rongpub import (
    ConnectionFailedError,
    DeliveryUnknownError,
    InvalidRequestError,
    RateLimitedError,
    RetryPolicy,
    RongCloud,
    TextMessage,
)

from .mock_api import MockAPI, reply

pytestmark = pytest.mark.anyio

SECRET = "Ab3Xy9secret"  # MockAPI's app secret


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    stack = [exc]
    while stack:
        error = stack.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        stack += [e for e in (error.__cause__, error.__context__) if e is not None]


def _texts(value: Any, depth: int = 0) -> Iterator[str]:
    """What a debugger or a logging formatter shows of `value` (reprs, a few levels deep)."""
    yield repr(value)
    if depth < 3:
        if isinstance(value, dict | httpx.Headers):
            for item in value.items():
                yield from _texts(item, depth + 1)
        elif isinstance(value, list | tuple | set):
            for item in value:
                yield from _texts(item, depth + 1)
        for name in ("request", "headers", "__dict__"):
            inner = getattr(value, name, None) if not isinstance(value, type) else None
            if inner is not None and not callable(inner):
                yield from _texts(inner, depth + 1)


def _leaks(exc: BaseException, needles: list[str]) -> list[str]:
    found = []
    for error in _chain(exc):
        for text in _texts(error):
            found += [f"{type(error).__name__}: {n}" for n in needles if n in text]
        for frame, _ in traceback.walk_tb(error.__traceback__):
            if frame.f_code.co_filename == __file__:  # the test's own frame holds SECRET
                continue
            for name, value in frame.f_locals.items():
                for text in _texts(value):
                    found += [f"{frame.f_code.co_name}.{name}: {n}" for n in needles if n in text]
    return found


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (httpx.ReadTimeout("slow"), DeliveryUnknownError),
        (httpx.RemoteProtocolError("reset"), DeliveryUnknownError),
        (httpx.ConnectError("refused"), ConnectionFailedError),
        (httpx.DecodingError("bad gzip"), DeliveryUnknownError),
        (reply(429, 1008), RateLimitedError),
    ],
    ids=["read timeout", "reset", "refused", "undecodable answer", "429"],
)
async def test_no_secret_or_signature_is_reachable_from_an_error(
    answer: Any, error: type[Exception]
) -> None:
    api = MockAPI(*[answer] * 10)
    async with api.client(retry=RetryPolicy(rate_limited=0)) as rc:
        with pytest.raises(error) as caught:
            await rc.publish_group(
                from_user_id="u", group_ids=["g"], content=TextMessage(content="hi")
            )
    signatures = [request.headers["Signature"] for request in api.requests]
    assert signatures, "the request was never signed"
    assert _leaks(caught.value, [SECRET, *signatures]) == []


def test_the_secret_is_not_in_the_locals_of_a_failed_constructor() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        RongCloud("key", SECRET, region="mars")
    assert _leaks(caught.value, [SECRET]) == []


def test_repr_of_a_half_built_client_does_not_raise() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        RongCloud("key", SECRET, region="mars")
    selves = [
        frame.f_locals["self"]
        for frame, _ in traceback.walk_tb(caught.value.__traceback__)
        if isinstance(frame.f_locals.get("self"), RongCloud)
    ]
    assert selves and "key" in repr(selves[0]) and SECRET not in repr(selves[0])
