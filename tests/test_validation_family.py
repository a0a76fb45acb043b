"""One case per rule of the private, system and broadcast documents (issue #18): each raises
InvalidRequestError naming the field, and nothing reaches the server."""

from __future__ import annotations

from typing import Any

import pytest

from rongpub import InvalidRequestError, PushExt, RateLimits, TextMessage

from .mock_api import MockAPI

pytestmark = pytest.mark.anyio

TEXT = TextMessage(content="hi")
PRIVATE: dict[str, Any] = {"from_user_id": "s", "to_user_ids": ["u"], "content": TEXT}
SYSTEM: dict[str, Any] = dict(PRIVATE)
BROADCAST: dict[str, Any] = {"from_user_id": "s", "content": TEXT}
_USERS = [f"u{i}" for i in range(1001)]

# Rules every kind shares: sender, objectName, content (128 KiB), flags as 0/1 or booleans.
COMMON: list[tuple[str, dict[str, Any], str]] = [
    ("empty sender", {"from_user_id": ""}, "from_user_id"),
    ("sender of 65", {"from_user_id": "s" * 65}, "from_user_id"),
    ("sender not a string", {"from_user_id": 7}, "from_user_id"),
    ("no object_name for a dict", {"content": {"a": 1}}, "object_name"),
    ("custom type named RC:", {"object_name": "RC:Mine", "content": "x"}, "object_name"),
    ("object_name of 33", {"object_name": "A" * 33, "content": "x"}, "object_name"),
    ("content over 128 KiB", {"object_name": "A:B", "content": "x" * (128 * 1024 + 1)}, "content"),
    ("non-JSON for a built-in type", {"object_name": "RC:TxtMsg", "content": "hi"}, "content"),
    ("empty content", {"object_name": "A:B", "content": ""}, "content"),
    ("include_sender=2", {"include_sender": 2}, "include_sender"),
]
USERS: list[tuple[str, dict[str, Any], str]] = [
    ("no users", {"to_user_ids": []}, "to_user_ids"),
    ("users as one string", {"to_user_ids": "abc"}, "to_user_ids"),
    ("empty user id", {"to_user_ids": ["a", ""]}, "to_user_ids"),
    ("user id of 65", {"to_user_ids": ["u" * 65]}, "to_user_ids"),
    ("the same user twice", {"to_user_ids": ["a", "a"]}, "to_user_ids"),
    ("persisted=1.5", {"persisted": 1.5}, "persisted"),
    ('content_available="yes"', {"content_available": "yes"}, "content_available"),
    ("disable_push=1", {"disable_push": 1}, "disable_push"),
    ("push_ext not a PushExt", {"push_ext": {"title": "t"}}, "push_ext"),
    ("push_ext title of 51", {"push_ext": PushExt(title="t" * 51)}, "push_ext.title"),
    ("push_data not a string", {"push_data": 5}, "push_data"),
]
PRIVATE_CASES = [
    *COMMON,
    *USERS,
    ("1,001 users", {"to_user_ids": _USERS}, "to_user_ids"),
    ("badge with two users", {"to_user_ids": ["a", "b"], "badge": 1}, "to_user_ids"),
    ("badge 10000", {"badge": 10_000}, "badge"),
    ("badge -2", {"badge": -2}, "badge"),
    ("badge as bool", {"badge": True}, "badge"),
    ("verify_blacklist=2", {"verify_blacklist": 2}, "verify_blacklist"),
    ("expansion=1", {"expansion": 1}, "expansion"),
    ("extra_content without expansion", {"extra_content": {"k": "v"}}, "extra_content"),
    ("extra_content bad key", {"expansion": True, "extra_content": {"k!": "v"}}, "extra_content"),
]
SYSTEM_CASES = [
    *[case for case in COMMON if case[2] != "include_sender"],
    *USERS,
    ("101 users", {"to_user_ids": _USERS[:101]}, "to_user_ids"),
    ("counted=2", {"counted": 2}, "counted"),
]
BROADCAST_CASES = COMMON


def _ids(cases: list[tuple[str, dict[str, Any], str]]) -> list[str]:
    return [case[0] for case in cases]


@pytest.mark.parametrize(("case", "change", "field"), PRIVATE_CASES, ids=_ids(PRIVATE_CASES))
async def test_private_rule(case: str, change: dict[str, Any], field: str) -> None:
    api = MockAPI()
    async with api.client() as rc:
        with pytest.raises(InvalidRequestError) as caught:
            await rc.publish_private(**{**PRIVATE, **change})
    assert caught.value.field == field
    assert api.requests == []


@pytest.mark.parametrize(("case", "change", "field"), SYSTEM_CASES, ids=_ids(SYSTEM_CASES))
async def test_system_rule(case: str, change: dict[str, Any], field: str) -> None:
    api = MockAPI()
    async with api.client() as rc:
        with pytest.raises(InvalidRequestError) as caught:
            await rc.publish_system(**{**SYSTEM, **change})
    assert caught.value.field == field
    assert api.requests == []


@pytest.mark.parametrize(("case", "change", "field"), BROADCAST_CASES, ids=_ids(BROADCAST_CASES))
async def test_broadcast_rule(case: str, change: dict[str, Any], field: str) -> None:
    api = MockAPI()
    async with api.client() as rc:
        with pytest.raises(InvalidRequestError) as caught:
            await rc.broadcast_chatroom(**{**BROADCAST, **change})
    assert caught.value.field == field
    assert api.requests == []


async def test_the_maximum_recipients_are_accepted() -> None:
    api = MockAPI()
    async with api.client() as rc:
        await rc.publish_private(**{**PRIVATE, "to_user_ids": _USERS[:1000]})
        await rc.publish_system(**{**SYSTEM, "to_user_ids": _USERS[:100]})
    assert len(api.requests) == 2


async def test_a_private_send_over_the_quota_is_refused_and_names_its_window() -> None:
    api = MockAPI()
    async with api.client(rate_limits=RateLimits(private=500)) as rc:
        with pytest.raises(InvalidRequestError, match="per 60 s") as caught:
            await rc.publish_private(**{**PRIVATE, "to_user_ids": _USERS[:501]})
    assert caught.value.field == "to_user_ids"
    assert api.requests == []


@pytest.mark.parametrize("name", ["private", "system", "broadcast"])
def test_rate_limits_below_one_are_refused(name: str) -> None:
    with pytest.raises(InvalidRequestError, match=f"rate_limits.{name}"):
        RateLimits(**{name: 0})
