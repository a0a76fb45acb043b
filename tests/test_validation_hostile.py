"""Odd input (issue #13 cases 8-10, #19 item 1): wrong types, surrogates, deep nesting, ids
past 64 characters, non-JSON content for built-in types. Each is InvalidRequestError naming
the field, and nothing reaches the server; defaults sent by other SDKs (False) still pass."""

from __future__ import annotations

from typing import Any

import pytest

from rongpub import InvalidRequestError, PushExt, TextMessage

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


CASES: list[tuple[str, dict[str, Any], str]] = [
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


@pytest.mark.parametrize(("case", "change", "field"), CASES, ids=[c[0] for c in CASES])
async def test_odd_group_input_is_refused_naming_the_field(
    case: str, change: dict[str, Any], field: str
) -> None:
    api = MockAPI()
    async with api.client() as rc:
        with pytest.raises(InvalidRequestError) as caught:
            await rc.publish_group(**{**GROUP, **change})
    assert caught.value.field == field
    assert api.requests == []


ROOM_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("persisted=1.5", {"persisted": 1.5}, "persisted"),
    ('include_sender="yes"', {"include_sender": "yes"}, "include_sender"),
    ("chatroom id of 65", {"chatroom_ids": ["c" * 65]}, "chatroom_ids"),
    ("non-JSON content", {"object_name": "RC:TxtMsg", "content": "plain"}, "content"),
]


@pytest.mark.parametrize(("case", "change", "field"), ROOM_CASES, ids=[c[0] for c in ROOM_CASES])
async def test_odd_chatroom_input_is_refused_naming_the_field(
    case: str, change: dict[str, Any], field: str
) -> None:
    api = MockAPI()
    async with api.client() as rc:
        with pytest.raises(InvalidRequestError) as caught:
            await rc.publish_chatroom(**{**ROOM, **change})
    assert caught.value.field == field
    assert api.requests == []


async def test_ids_of_64_characters_and_0_1_flags_are_sent() -> None:
    api = MockAPI()
    async with api.client() as rc:
        await rc.publish_group(
            **{**GROUP, "group_ids": ["g" * 64], "from_user_id": "u" * 64, "persisted": 0},
            include_sender=1,  # type: ignore[arg-type]  # the documents' 0/1 pass too
        )
    body = api.requests[0].content
    assert b"isPersisted=0" in body and b"isIncludeSender=1" in body


@pytest.mark.parametrize(
    "change",
    [
        {"group_ids": ["a", "b", "c"], "expansion": False, "disable_push": False},
        {"to_user_ids": ["x"], "expansion": False, "disable_push": False},
    ],
    ids=["three groups", "directed"],
)
async def test_false_single_group_flags_pass_as_the_go_sdk_sends_them(
    change: dict[str, Any],
) -> None:
    api = MockAPI()
    async with api.client() as rc:
        await rc.publish_group(**{**GROUP, **change})
    assert b"expansion=false" in api.requests[0].content


async def test_a_mention_in_dict_content_is_sent() -> None:
    api = MockAPI()
    content = {"content": "hi", "mentionedInfo": {"type": 2, "userIdList": ["x"]}}
    async with api.client() as rc:
        await rc.publish_group(
            **GROUP | {"object_name": "RC:TxtMsg", "content": content},
            mentioned=True,
            to_user_ids=["x"],
        )
    assert len(api.requests) == 1
