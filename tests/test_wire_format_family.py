"""The bytes of private, system and chatroom-broadcast sends (issue #18), byte for byte, with
the field names of their documents (docs/reference/private.md, system.md, broadcast.md)."""

from __future__ import annotations

import pytest

from rongpub import PushExt, TextMessage

from .mock_api import MockAPI

pytestmark = pytest.mark.anyio

_TEXT = b"&objectName=RC%3ATxtMsg&content=%7B%22content%22%3A%22hi%22%7D"


async def test_private_send_to_users_with_escaped_ids() -> None:
    api = MockAPI()
    async with api.client() as rc:
        result = await rc.publish_private(
            from_user_id="s&1",
            to_user_ids=["u1", "a=b+c", "用户"],
            content=TextMessage(content="hi"),
        )
    request = api.requests[0]
    assert request.url == "https://primary.test/message/private/publish.json"
    assert request.content == (
        b"fromUserId=s%261&toUserId=u1&toUserId=a%3Db%2Bc&toUserId=%E7%94%A8%E6%88%B7" + _TEXT
    )
    assert result.message_uids == {"u1": "UID-u1", "a=b+c": "UID-a=b+c", "用户": "UID-用户"}


async def test_private_send_with_every_optional_field() -> None:
    api = MockAPI()
    async with api.client() as rc:
        await rc.publish_private(
            from_user_id="s",
            to_user_ids=["u1"],
            content=TextMessage(content="hi"),
            push_content="p q",
            push_data='{"k":1}',
            badge=-1,
            verify_blacklist=True,
            persisted=False,
            include_sender=True,
            content_available=False,
            expansion=True,
            extra_content={"k": "v"},
            disable_push=False,
            push_ext=PushExt(title="t"),
        )
    assert api.requests[0].content == (
        b"fromUserId=s&toUserId=u1" + _TEXT + b"&pushContent=p%20q"
        b"&pushData=%7B%22k%22%3A1%7D&count=-1&verifyBlacklist=1&isPersisted=0"
        b"&isIncludeSender=1&contentAvailable=0&expansion=true"
        b"&extraContent=%7B%22k%22%3A%22v%22%7D&disablePush=false"
        b"&pushExt=%7B%22title%22%3A%22t%22%7D"
    )


async def test_system_send_with_every_optional_field() -> None:
    api = MockAPI()
    async with api.client() as rc:
        result = await rc.publish_system(
            from_user_id="sys",
            to_user_ids=["u&1", "u2"],
            content=TextMessage(content="hi"),
            push_content="p",
            push_data="d",
            persisted=True,
            counted=False,
            content_available=True,
            disable_push=True,
            push_ext=PushExt(title="t"),
        )
    request = api.requests[0]
    assert request.url == "https://primary.test/message/system/publish.json"
    assert request.content == (
        b"fromUserId=sys&toUserId=u%261&toUserId=u2" + _TEXT + b"&pushContent=p&pushData=d"
        b"&isPersisted=1&isCounted=0&contentAvailable=1&disablePush=true"
        b"&pushExt=%7B%22title%22%3A%22t%22%7D"
    )
    assert set(result.message_uids) == {"u&1", "u2"}


async def test_chatroom_broadcast_has_no_target() -> None:
    api = MockAPI()
    async with api.client() as rc:
        result = await rc.broadcast_chatroom(
            from_user_id="管理+员", content=TextMessage(content="hi"), include_sender=True
        )
    request = api.requests[0]
    assert request.url == "https://primary.test/message/chatroom/broadcast.json"
    assert request.content == (
        b"fromUserId=%E7%AE%A1%E7%90%86%2B%E5%91%98" + _TEXT + b"&isIncludeSender=1"
    )
    assert result.message_uids == {}


async def test_a_custom_type_with_raw_content_is_sent_unchanged() -> None:
    api = MockAPI()
    async with api.client() as rc:
        await rc.publish_system(
            from_user_id="s", to_user_ids=["u"], content=b"a=b&c", object_name="App:Cmd"
        )
    assert api.requests[0].content == (
        b"fromUserId=s&toUserId=u&objectName=App%3ACmd&content=a%3Db%26c"
    )
