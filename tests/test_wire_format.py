"""The bytes on the wire, checked byte for byte against the documents' field names."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest

from rongpub import (
    APNsPush,
    HuaweiPush,
    MentionedInfo,
    PushExt,
    TextMessage,
    UserInfo,
    VivoPush,
)

from .mock_api import MockAPI

pytestmark = pytest.mark.anyio


async def test_group_send_to_several_groups_with_escaped_ids() -> None:
    api = MockAPI()
    async with api.client() as rc:
        result = await rc.publish_group(
            from_user_id="u 1&x",
            group_ids=["g1", "g=2+", "群"],
            content=TextMessage(content="hi"),
            persisted=True,
            include_sender=False,
        )
    request = api.requests[0]
    assert request.url == "https://primary.test/message/group/publish.json"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.content == (
        b"fromUserId=u%201%26x&toGroupId=g1&toGroupId=g%3D2%2B&toGroupId=%E7%BE%A4"
        b"&objectName=RC%3ATxtMsg&content=%7B%22content%22%3A%22hi%22%7D"
        b"&isIncludeSender=0&isPersisted=1"
    )
    assert result.message_uids == {"g1": "UID-g1", "g=2+": "UID-g=2+", "群": "UID-群"}
    assert result.code == 200
    assert result.request_id == request.headers["X-Request-ID"]


async def test_directed_group_send_with_every_optional_field() -> None:
    api = MockAPI()
    message = TextMessage(
        content="@you",
        user=UserInfo(id="u1", name="Ann"),
        mentioned_info=MentionedInfo(type=2, user_ids=["123"], mentioned_content="hey"),
    )
    async with api.client() as rc:
        await rc.publish_group(
            from_user_id="2191",
            group_ids=["2193"],
            to_user_ids=["123", "456"],
            content=message,
            push_content="push",
            push_data='{"k":"v"}',
            include_sender=True,
            persisted=False,
            mentioned=True,
            content_available=True,
        )
    assert api.form() == [
        ("fromUserId", "2191"),
        ("toGroupId", "2193"),
        ("toUserId", "123"),
        ("toUserId", "456"),
        ("objectName", "RC:TxtMsg"),
        (
            "content",
            '{"content":"@you","user":{"id":"u1","name":"Ann"},'
            '"mentionedInfo":{"type":2,"userIdList":["123"],"mentionedContent":"hey"}}',
        ),
        ("pushContent", "push"),
        ("pushData", '{"k":"v"}'),
        ("isIncludeSender", "1"),
        ("isPersisted", "0"),
        ("isMentioned", "1"),
        ("contentAvailable", "1"),
    ]


async def test_single_group_extension_and_push_fields() -> None:
    api = MockAPI()
    push = PushExt(
        title="T",
        template_id="tpl",
        force_show_push_content=True,
        hw=HuaweiPush(channel_id="hw-1", importance="NORMAL"),
        vivo=VivoPush(classification=1, category="IM"),
        apns=APNsPush(thread_id="t", interruption_level="time-sensitive"),
    )
    async with api.client() as rc:
        await rc.publish_group(
            from_user_id="u",
            group_ids=["g"],
            object_name="App:Custom",
            content="raw text, not JSON",
            expansion=True,
            extra_content={"type": "3", "a+b=c-d_e": "v"},
            disable_push=False,
            push_ext=push,
        )
    form = dict(api.form())
    assert form["objectName"] == "App:Custom"
    assert form["content"] == "raw text, not JSON"
    assert form["expansion"] == "true"
    assert form["disablePush"] == "false"
    assert json.loads(form["extraContent"]) == {"type": "3", "a+b=c-d_e": "v"}
    assert json.loads(form["pushExt"]) == {
        "title": "T",
        "templateId": "tpl",
        "forceShowPushContent": 1,
        "pushConfigs": [
            {"HW": {"channelId": "hw-1", "importance": "NORMAL"}},
            {"VIVO": {"classification": 1, "category": "IM"}},
            {"APNs": {"thread-id": "t", "interruption-level": "time-sensitive"}},
        ],
    }


async def test_chatroom_send_to_several_rooms() -> None:
    api = MockAPI()
    async with api.client() as rc:
        result = await rc.publish_chatroom(
            from_user_id="2191",
            chatroom_ids=["2192", "2193"],
            object_name="RC:TxtMsg",
            content={"content": "hello", "extra": "helloExtra"},
            persisted=False,
            include_sender=True,
            priority=2,
        )
    assert api.requests[0].url.path == "/message/chatroom/publish.json"
    assert api.requests[0].content == (
        b"fromUserId=2191&toChatroomId=2192&toChatroomId=2193&objectName=RC%3ATxtMsg"
        b"&content=%7B%22content%22%3A%22hello%22%2C%22extra%22%3A%22helloExtra%22%7D"
        b"&isPersisted=0&isIncludeSender=1&priority=2"
    )
    assert result.message_uids == {"2192": "UID-2192", "2193": "UID-2193"}


async def test_bytes_content_is_sent_unchanged() -> None:
    api = MockAPI()
    async with api.client() as rc:
        await rc.publish_chatroom(
            from_user_id="u", chatroom_ids=["c"], object_name="X:Bin", content=b"\x00\xc3\xa9"
        )
    assert b"&content=%00%C3%A9" in api.requests[0].content


async def test_every_attempt_is_signed_and_carries_the_auth_headers() -> None:
    api = MockAPI()
    async with api.client() as rc:
        await rc.publish_chatroom(
            from_user_id="u", chatroom_ids=["c"], content=TextMessage(content="x")
        )
    headers = api.requests[0].headers
    names = {"app-key", "nonce", "timestamp", "signature", "x-request-id"}
    assert names <= {name.lower() for name in headers}
    assert len(headers["Timestamp"]) == 13
    assert len(headers["X-Request-ID"]) <= 36
    assert dict(parse_qsl(api.requests[0].content.decode()))["objectName"] == "RC:TxtMsg"
