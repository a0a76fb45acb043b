"""How answers and transport faults become results, retries, failover or typed errors."""

from __future__ import annotations

import httpx
import pytest

from rongpub import (
    APIError,
    AuthenticationError,
    ConnectionFailedError,
    DeliveryUnknownError,
    InvalidRequestError,
    Quota,
    RateLimitedError,
    RateLimits,
    RejectedError,
    RetryPolicy,
    RongCloud,
    TextMessage,
)
from rongpub._response import parse_retry_after

from .mock_api import MockAPI, reply

pytestmark = pytest.mark.anyio

SECRET = "Ab3Xy9secret"


class FakeLimiter:
    """Records what the client asks of its limiter."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, object]] = []

    async def acquire(self, quota: Quota, cost: int) -> None:
        self.calls.append(("acquire", quota.api, cost))

    async def pause(self, quota: Quota, seconds: float | None) -> None:
        self.calls.append(("pause", quota.api, seconds))

    async def aclose(self) -> None:
        self.calls.append(("aclose", "", None))


async def send(rc: RongCloud, groups: tuple[str, ...] = ("g1",)) -> object:
    return await rc.publish_group(
        from_user_id="u", group_ids=list(groups), content=TextMessage(content="hi")
    )


async def test_uids_tolerate_missing_lists_and_unknown_fields() -> None:
    api = MockAPI(
        httpx.Response(200, json={"code": 200}),
        httpx.Response(
            200, json={"code": 200, "new": 1, "messageUIDs": [{"userId": "g", "messageUID": "m"}]}
        ),
    )
    async with api.client() as rc:
        assert (
            await rc.publish_group(
                from_user_id="u", group_ids=["g"], content=TextMessage(content="x")
            )
        ).message_uids == {}
        assert (
            await rc.publish_group(
                from_user_id="u", group_ids=["g"], content=TextMessage(content="x")
            )
        ).message_uids == {"g": "m"}


async def test_429_pauses_the_quota_and_retries_with_the_same_request_id() -> None:
    api = MockAPI(reply(429, 1008, "too many", retry_after="2"))
    limiter = FakeLimiter()
    async with api.client(rate_limits=RateLimits(), limiter=limiter) as rc:
        await send(rc, ("g1", "g2"))
    assert limiter.calls == [
        ("acquire", "group", 2),
        ("pause", "group", 2.0),
        ("acquire", "group", 2),
    ]
    first, second = api.requests
    assert first.headers["X-Request-ID"] == second.headers["X-Request-ID"]
    assert first.headers["Nonce"] != second.headers["Nonce"]
    assert first.content == second.content


async def test_429_retry_after_is_capped() -> None:
    api = MockAPI(reply(429, 1008, retry_after="3600"))
    limiter = FakeLimiter()
    async with api.client(
        rate_limits=RateLimits(), limiter=limiter, retry=RetryPolicy(max_retry_after=7)
    ) as rc:
        await send(rc)
    assert ("pause", "group", 7) in limiter.calls


async def test_429_becomes_an_error_when_the_retry_budget_is_spent() -> None:
    api = MockAPI(default=lambda request: reply(429, 1008, "slow down"))
    limiter = FakeLimiter()
    async with api.client(
        rate_limits=RateLimits(), limiter=limiter, retry=RetryPolicy(rate_limited=2)
    ) as rc:
        with pytest.raises(RateLimitedError) as caught:
            await send(rc)
    assert len(api.requests) == 3
    assert caught.value.code == 1008
    assert caught.value.status_code == 429
    assert caught.value.request_id == api.requests[0].headers["X-Request-ID"]
    assert limiter.calls[-1] == ("acquire", "group", 1)


async def test_429_without_a_limiter_waits_retry_after_itself() -> None:
    api = MockAPI(reply(429, 1008, retry_after_ms="0"))
    async with api.client() as rc:
        await send(rc)
    assert len(api.requests) == 2


@pytest.mark.parametrize(
    ("answer", "error", "code"),
    [
        (reply(401, 1004, "signature error"), AuthenticationError, 1004),
        (reply(401, 1001, "app key"), AuthenticationError, 1001),
        (reply(400, 1002, "toGroupId is wrong"), RejectedError, 1002),
        (reply(403, 1007, "ip"), RejectedError, 1007),
        (reply(200, 1009, "not enabled"), RejectedError, 1009),
        (httpx.Response(404, text="not found"), DeliveryUnknownError, 404),
        (reply(500, 1000, "internal"), DeliveryUnknownError, 1000),
        (reply(504, 1050, "timeout"), DeliveryUnknownError, 1050),
        (httpx.Response(502, text="<html>bad gateway</html>"), DeliveryUnknownError, 502),
        (httpx.Response(200, text="not json"), DeliveryUnknownError, 200),
    ],
)
async def test_error_answers_map_to_typed_errors(
    answer: httpx.Response, error: type[APIError | DeliveryUnknownError], code: int
) -> None:
    api = MockAPI(answer)
    async with api.client() as rc:
        with pytest.raises(error) as caught:
            await send(rc)
    error_value: APIError | DeliveryUnknownError = caught.value  # type: ignore[assignment]
    assert error_value.code == code
    assert len(api.requests) == 1
    assert SECRET not in str(caught.value)


async def test_rejected_error_names_code_message_and_request_id() -> None:
    api = MockAPI(reply(400, 1002, "toGroupId is wrong"))
    async with api.client() as rc:
        with pytest.raises(RejectedError) as caught:
            await send(rc)
    request_id = api.requests[0].headers["X-Request-ID"]
    assert str(caught.value) == (
        f"RongCloud answered HTTP 400, code 1002: toGroupId is wrong (request id {request_id})"
    )


async def test_connection_failure_fails_over_and_retries_at_once() -> None:
    api = MockAPI(httpx.ConnectError("refused"))
    async with api.client() as rc:
        await send(rc)
        await send(rc)
    hosts = [request.url.host for request in api.requests]
    assert hosts == ["primary.test", "backup.test", "backup.test"]


async def test_every_host_unreachable_is_a_connection_failure() -> None:
    api = MockAPI(default=lambda request: httpx.ConnectTimeout("no route"))
    async with api.client() as rc:
        with pytest.raises(ConnectionFailedError, match="no host could be reached"):
            await send(rc)
    assert len(api.requests) == 2


@pytest.mark.parametrize(
    "fault",
    [
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("reset"),
        httpx.ReadError("reset"),
        httpx.DecodingError("an answer that cannot be decoded"),
        httpx.TooManyRedirects("a redirect loop (a client that follows redirects)"),
    ],
)
async def test_ambiguous_failures_are_not_retried_but_move_later_calls(fault: Exception) -> None:
    api = MockAPI(fault)
    async with api.client() as rc:
        with pytest.raises(DeliveryUnknownError) as caught:
            await send(rc)
        await send(rc)
    # The cause is named, not chained: httpx's error holds the signed request (issue #13).
    assert type(fault).__name__ in str(caught.value) and caught.value.__cause__ is None
    assert [request.url.host for request in api.requests] == ["primary.test", "backup.test"]


async def test_ambiguous_failures_switch_hosts_at_most_once_per_cooldown() -> None:
    api = MockAPI(reply(500, 1000), reply(500, 1000))
    async with api.client() as rc:
        for _ in range(2):
            with pytest.raises(DeliveryUnknownError):
                await send(rc)
        await send(rc)
    assert [request.url.host for request in api.requests] == [
        "primary.test",
        "backup.test",
        "backup.test",
    ]


async def test_retrying_ambiguous_failures_is_opt_in() -> None:
    api = MockAPI(httpx.ReadTimeout("slow"))
    async with api.client(retry=RetryPolicy(unknown=1)) as rc:
        await send(rc)
    assert len(api.requests) == 2
    assert api.requests[0].headers["X-Request-ID"] == api.requests[1].headers["X-Request-ID"]


async def test_owned_limiter_is_closed_but_a_passed_one_is_not() -> None:
    limiter = FakeLimiter()
    async with MockAPI().client(rate_limits=RateLimits(), limiter=limiter):
        pass
    assert ("aclose", "", None) not in limiter.calls


async def test_limits_off_means_no_limiter_calls() -> None:
    limiter = FakeLimiter()
    async with MockAPI().client(rate_limits=None, limiter=limiter) as rc:
        await send(rc)
    assert limiter.calls == []


def test_credentials_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RONGCLOUD_APP_KEY", "envkey")
    monkeypatch.setenv("RONGCLOUD_APP_SECRET", SECRET)
    rc = RongCloud(rate_limits=None)
    assert repr(rc) == (
        "RongCloud(app_key='envkey', base_urls=['https://api.rong-api.com', "
        "'https://api-b.rong-api.com'])"
    )
    assert SECRET not in repr(vars(rc))


def test_missing_credentials_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RONGCLOUD_APP_KEY", raising=False)
    with pytest.raises(InvalidRequestError, match="RONGCLOUD_APP_KEY"):
        RongCloud(app_secret="s", rate_limits=None)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"region": "mars"}, "region"),
        ({"base_urls": []}, "base_urls"),
        ({"base_urls": ["ftp://x"]}, "base_urls"),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        RongCloud("k", "s", rate_limits=None, **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_region_picks_primary_then_backup() -> None:
    rc = RongCloud("k", "s", region="sg", rate_limits=None)
    assert "api.sg-light-api.com" in repr(rc)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({}, None),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "x", "retry-after": "2"}, 2.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:05 GMT"}, 5.0),
        ({"retry-after": "soon"}, None),
    ],
)
def test_retry_after_forms(headers: dict[str, str], seconds: float | None) -> None:
    assert parse_retry_after(headers, now=1445412480.0) == seconds
