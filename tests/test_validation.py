"""One case per rule of the documents: each raises InvalidRequestError naming the field,
and nothing reaches the server."""

from __future__ import annotations

from typing import Any

import pytest

from rongpub import (
    InvalidRequestError,
    MentionedInfo,
    PushExt,
    RateLimits,
    TextMessage,
)

from .mock_api import MockAPI

pytestmark = pytest.mark.anyio

TEXT = TextMessage(content="hi")
GROUP: dict[str, Any] = {"from_user_id": "u", "group_ids": ["g"], "content": TEXT}
ROOM: dict[str, Any] = {"from_user_id": "u", "chatroom_ids": ["c"], "content": TEXT}


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


GROUP_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("no groups", {"group_ids": []}, "group_ids"),
    ("four groups", {"group_ids": ["a", "b", "c", "d"]}, "group_ids"),
    ("empty group id", {"group_ids": ["a", ""]}, "group_ids"),
    ("group ids as one string", {"group_ids": "abc"}, "group_ids"),
    ("duplicate group", {"group_ids": ["a", "a"]}, "group_ids"),
    ("non-string group id", {"group_ids": [1]}, "group_ids"),
    ("empty sender", {"from_user_id": ""}, "from_user_id"),
    ("directed to two groups", {"group_ids": ["a", "b"], "to_user_ids": ["x"]}, "group_ids"),
    ("directed to nobody", {"to_user_ids": []}, "to_user_ids"),
    ("expansion with two groups", {"group_ids": ["a", "b"], "expansion": True}, "group_ids"),
    ("push_ext with two groups", {"group_ids": ["a", "b"], "push_ext": PushExt()}, "group_ids"),
    ("disable_push with two groups", {"group_ids": ["a", "b"], "disable_push": True}, "group_ids"),
    (
        "extra_content with two groups",
        {"group_ids": ["a", "b"], "expansion": True, "extra_content": {"k": "v"}},
        "group_ids",
    ),
    ("expansion when directed", {"to_user_ids": ["x"], "expansion": True}, "expansion"),
    ("disable_push when directed", {"to_user_ids": ["x"], "disable_push": True}, "disable_push"),
    ("push_ext when directed", {"to_user_ids": ["x"], "push_ext": PushExt()}, "push_ext"),
    ("extra_content without expansion", {"extra_content": {"k": "v"}}, "extra_content"),
    (
        "extra_content key too long",
        {"expansion": True, "extra_content": {"k" * 33: "v"}},
        "extra_content",
    ),
    (
        "extra_content key with a Chinese character",
        {"expansion": True, "extra_content": {"键": "v"}},
        "extra_content",
    ),
    (
        "extra_content key with a space",
        {"expansion": True, "extra_content": {"a b": "v"}},
        "extra_content",
    ),
    (
        "extra_content value too long",
        {"expansion": True, "extra_content": {"k": "v" * 4097}},
        "extra_content",
    ),
    (
        "extra_content over 100 pairs",
        {"expansion": True, "extra_content": {f"k{i}": "v" for i in range(101)}},
        "extra_content",
    ),
    ("push_ext title over 50", {"push_ext": PushExt(title="t" * 51)}, "push_ext.title"),
    (
        "content over 128 KiB",
        {"content": {"content": "x" * (128 * 1024)}, "object_name": "RC:TxtMsg"},
        "content",
    ),
    ("str content without object_name", {"content": "raw"}, "object_name"),
    ("empty object_name", {"content": "raw", "object_name": ""}, "object_name"),
    ("object_name over 32", {"content": "raw", "object_name": "A:" + "x" * 31}, "object_name"),
    ("custom type named RC:", {"content": "raw", "object_name": "RC:Mine"}, "object_name"),
    ("object_name contradicts type", {"object_name": "RC:ImgMsg"}, "object_name"),
    ("content not JSON-encodable", {"content": {"k": object()}, "object_name": "A:B"}, "content"),
    ("mentioned without mentionedInfo", {"mentioned": True}, "content.mentioned_info"),
    (
        "mention of everyone-but-listed without users",
        {"content": TextMessage(content="@", mentioned_info=MentionedInfo(type=2))},
        "content.mentioned_info.user_ids",
    ),
    (
        "directed mention of a non-recipient",
        {
            "to_user_ids": ["x"],
            "content": TextMessage(
                content="@", mentioned_info=MentionedInfo(type=2, user_ids=["y"])
            ),
        },
        "content.mentioned_info.user_ids",
    ),
    # odd input (issue #13 cases 8-10): wrong types, surrogates, nesting, lengths
    # case 8: flags must be real booleans (or 0/1 for the documents' Int fields)
    ('expansion="false"', {"expansion": "false"}, "expansion"),
    ('disable_push="false"', {"disable_push": "false"}, "disable_push"),
    ("expansion=1", {"expansion": 1}, "expansion"),
    ("persisted=1.5", {"persisted": 1.5}, "persisted"),
    ("persisted=2", {"persisted": 2}, "persisted"),
    ("include_sender=-1", {"include_sender": -1}, "include_sender"),
    ("content_available=2", {"content_available": 2}, "content_available"),
    ("mentioned=2", {"mentioned": 2}, "mentioned"),
    # case 9: internal exceptions before
    ("push_content=5", {"push_content": 5}, "push_content"),
    ("push_content surrogate", {"push_content": "a\ud800"}, "push_content"),
    ("push_data surrogate", {"push_data": "\udfff"}, "push_data"),
    ("object_name surrogate", {"object_name": "X:\ud800", "content": "{}"}, "object_name"),
    ("text content surrogate", {"content": TextMessage(content="\ud800")}, "content"),
    ("dict content surrogate", {"object_name": "X:T", "content": {"a": "\ud800"}}, "content"),
    ('include_sender="yes"', {"include_sender": "yes"}, "include_sender"),
    ("deeply nested content", {"object_name": "X:T", "content": _nested(1200)}, "content"),
    ("nested past the limit", {"object_name": "X:T", "content": _nested(101)}, "content"),
    # case 10: what the server refuses
    ("group id of 65", {"group_ids": ["g" * 65]}, "group_ids"),
    ("sender id of 65", {"from_user_id": "u" * 65}, "from_user_id"),
    ("to_user_id of 65", {"to_user_ids": ["x" * 65]}, "to_user_ids"),
    (
        "mentioned with dict content",
        {"object_name": "RC:TxtMsg", "content": {"content": "hi"}, "mentioned": True},
        "content",
    ),
    (
        "mentionedInfo type 3",
        {
            "object_name": "RC:TxtMsg",
            "mentioned": True,
            "content": {"content": "hi", "mentionedInfo": {"type": 3}},
        },
        "content.mentionedInfo.type",
    ),
    ("non-JSON str for a built-in type", {"object_name": "RC:TxtMsg", "content": "hi"}, "content"),
    ("JSON list for a built-in type", {"object_name": "RC:TxtMsg", "content": "[1]"}, "content"),
    ("None content", {"object_name": "X:T", "content": None}, "content"),
    ("int content", {"object_name": "X:T", "content": 5}, "content"),
    ("list content", {"object_name": "RC:TxtMsg", "content": [1, 2]}, "content"),
    ("bytes not UTF-8", {"object_name": "X:T", "content": b"\xff\xfe"}, "content"),
    ("empty content", {"object_name": "X:T", "content": ""}, "content"),
    ("object_name=5", {"object_name": 5, "content": "{}"}, "object_name"),
    ("push_ext title=5", {"push_ext": PushExt(title=5)}, "push_ext"),  # type: ignore[arg-type]
    ("to_user_ids=5", {"to_user_ids": 5}, "to_user_ids"),
]

ROOM_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("no chatrooms", {"chatroom_ids": []}, "chatroom_ids"),
    ("empty chatroom id", {"chatroom_ids": [""]}, "chatroom_ids"),
    ("priority 4", {"priority": 4}, "priority"),
    ("priority -1", {"priority": -1}, "priority"),
    ("priority as bool", {"priority": True}, "priority"),
    ("empty sender", {"from_user_id": ""}, "from_user_id"),
    ("sender not a string", {"from_user_id": 7}, "from_user_id"),
    # odd input (issue #13 cases 8-10)
    ("persisted=1.5", {"persisted": 1.5}, "persisted"),
    ('include_sender="yes"', {"include_sender": "yes"}, "include_sender"),
    ("chatroom id of 65", {"chatroom_ids": ["c" * 65]}, "chatroom_ids"),
    ("non-JSON content", {"object_name": "RC:TxtMsg", "content": "plain"}, "content"),
]


@pytest.mark.parametrize(("case", "change", "field"), GROUP_CASES, ids=[c[0] for c in GROUP_CASES])
async def test_group_rule(case: str, change: dict[str, Any], field: str) -> None:
    api = MockAPI()
    async with api.client() as rc:
        with pytest.raises(InvalidRequestError) as caught:
            await rc.publish_group(**{**GROUP, **change})
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert api.requests == []


@pytest.mark.parametrize(("case", "change", "field"), ROOM_CASES, ids=[c[0] for c in ROOM_CASES])
async def test_chatroom_rule(case: str, change: dict[str, Any], field: str) -> None:
    api = MockAPI()
    async with api.client() as rc:
        with pytest.raises(InvalidRequestError) as caught:
            await rc.publish_chatroom(**{**ROOM, **change})
    assert caught.value.field == field
    assert api.requests == []


async def test_single_group_fields_say_why_only_one_group_is_allowed() -> None:
    async with MockAPI().client() as rc:
        with pytest.raises(InvalidRequestError, match="expansion allow exactly one group"):
            await rc.publish_group(**{**GROUP, "group_ids": ["a", "b"], "expansion": True})


async def test_a_send_bigger_than_the_quota_is_refused_before_sending() -> None:
    api = MockAPI()
    async with api.client(rate_limits=RateLimits(chatroom=5), limiter=_NeverLimiter()) as rc:
        with pytest.raises(InvalidRequestError) as caught:
            await rc.publish_chatroom(**{**ROOM, "chatroom_ids": [f"c{i}" for i in range(6)]})
    assert caught.value.field == "chatroom_ids"
    assert api.requests == []


async def test_content_of_exactly_128_kib_is_accepted() -> None:
    api = MockAPI()
    async with api.client() as rc:
        await rc.publish_chatroom(
            **{**ROOM, "content": "x" * (128 * 1024), "object_name": "App:Big"}
        )
    assert len(api.requests) == 1


def test_invalid_request_error_is_a_value_error() -> None:
    assert issubclass(InvalidRequestError, ValueError)


class _NeverLimiter:
    async def acquire(self, quota: object, cost: int) -> None:
        raise AssertionError("must not be reached")

    async def pause(self, quota: object, seconds: float | None) -> None:
        raise AssertionError("must not be reached")

    async def aclose(self) -> None:
        pass
