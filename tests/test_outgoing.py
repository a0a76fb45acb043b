"""Messages as values (issue #16 item 2): `GroupMessage` / `ChatroomMessage` are validated at
construction, frozen, compared by what would be sent, and `publish` / `fanout` send exactly what
the keyword calls send."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from rongpub import (
    ChatroomFields,
    ChatroomMessage,
    GroupFields,
    GroupMessage,
    InvalidRequestError,
    PrivateFields,
    PrivateMessage,
    PushExt,
    RateLimits,
    RongCloud,
    SystemFields,
    SystemMessage,
    TextMessage,
)
from rongpub.emulator import Emulator, Server, serve

from .mock_api import MockAPI

pytestmark = pytest.mark.anyio

HI = TextMessage(content="hi")
EVERY_GROUP_FIELD: GroupFields = {
    "from_user_id": "u&1",
    "content": HI,
    "push_content": "推送",
    "push_data": "d=1",
    "include_sender": True,
    "persisted": False,
    "mentioned": False,
    "content_available": True,
    "expansion": True,
    "extra_content": {"k": "v"},
    "disable_push": False,
    "push_ext": PushExt(title="t"),
}


def test_construction_validates_and_names_the_field() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        GroupMessage(from_user_id="", content=HI)
    assert caught.value.field == "from_user_id"
    with pytest.raises(InvalidRequestError) as caught:
        GroupMessage(from_user_id="u", content=HI, extra_content={"k": "v"})
    assert caught.value.field == "extra_content"
    with pytest.raises(InvalidRequestError) as caught:
        ChatroomMessage(from_user_id="u", content=HI, priority=7)
    assert caught.value.field == "priority"
    with pytest.raises(InvalidRequestError) as caught:
        ChatroomMessage(from_user_id="u", content="raw")  # custom content needs object_name
    assert caught.value.field == "object_name"


def test_unknown_or_missing_fields_are_type_errors_as_for_a_signature() -> None:
    with pytest.raises(TypeError, match="no field 'group_ids'"):
        GroupMessage(from_user_id="u", content=HI, group_ids=["g"])  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="no field 'to_user_ids'"):
        ChatroomMessage(from_user_id="u", content=HI, to_user_ids=["x"])  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="needs content="):
        GroupMessage(from_user_id="u")  # type: ignore[call-arg]


def test_messages_are_frozen_values() -> None:
    message = GroupMessage(from_user_id="u", content=HI, persisted=True)
    with pytest.raises(AttributeError, match="frozen"):
        message.persisted = False
    with pytest.raises(AttributeError, match="frozen"):
        del message.template
    fields = message.fields
    fields["persisted"] = False  # a copy: the message does not change
    assert message.fields["persisted"] is True
    same = GroupMessage(from_user_id="u", content=TextMessage(content="hi"), persisted=1)  # type: ignore[arg-type]  # 0/1 as the document's Int flag
    assert message == same
    assert message != GroupMessage(from_user_id="u", content=HI)
    assert message != ChatroomMessage(from_user_id="u", content=HI, persisted=True)
    assert len({message, GroupMessage(from_user_id="u", content=HI, persisted=True)}) == 1
    shown = repr(message)
    assert shown.startswith("GroupMessage(from_user_id='u', content=TextMessage(content='hi'")
    assert shown.endswith(", persisted=True)") and "push_content" not in shown


def test_replace_validates_anew_and_none_unsets() -> None:
    message = GroupMessage(from_user_id="u", content=HI, push_content="p")
    assert message.replace(push_content=None) == GroupMessage(from_user_id="u", content=HI)
    with pytest.raises(InvalidRequestError):
        message.replace(from_user_id="")


async def test_publish_sends_the_bytes_publish_group_sends() -> None:
    api = MockAPI()
    async with api.client() as rc:
        await rc.publish_group(group_ids=["g+1"], **EVERY_GROUP_FIELD)
        await rc.publish(GroupMessage(**EVERY_GROUP_FIELD), to=["g+1"])
        chatroom: ChatroomFields = {"from_user_id": "u", "content": HI, "priority": 2}
        await rc.publish_chatroom(chatroom_ids=["r1", "r2"], **chatroom)
        await rc.publish(ChatroomMessage(**chatroom), to=["r1", "r2"])
    bodies = [request.content for request in api.requests]
    assert bodies[0] == bodies[1] and bodies[2] == bodies[3]
    assert b"toGroupId=g%2B1" in bodies[0] and bodies[2].count(b"toChatroomId=") == 2


async def test_publish_checks_the_targets_and_the_message() -> None:
    api = MockAPI()
    async with api.client() as rc:
        with pytest.raises(InvalidRequestError) as caught:
            await rc.publish(GroupMessage(from_user_id="u", content=HI), to="g1")
        assert caught.value.field == "group_ids"
        with pytest.raises(InvalidRequestError) as caught:
            await rc.publish(GroupMessage(from_user_id="u", content=HI), to=["a", "b", "c", "d"])
        assert caught.value.field == "group_ids"
        with pytest.raises(InvalidRequestError) as caught:
            await rc.publish(HI, to=["g1"])  # type: ignore[arg-type]
        assert caught.value.field == "message" and "TextMessage" in str(caught.value)
    assert api.requests == []


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    emulator = Emulator({"key": "secret"}, group_limit=1000, chatroom_limit=1000)
    async with serve(emulator) as running:
        yield running


async def test_fanout_of_a_value_reaches_every_target(server: Server) -> None:
    limits = RateLimits(group=1000, chatroom=1000)
    async with RongCloud("key", "secret", base_urls=[server.url], rate_limits=limits) as rc:
        rooms = [f"room-{n}" for n in range(25)]
        report = await rc.fanout(ChatroomMessage(from_user_id="u", content=HI), rooms)
        groups = [f"g-{n}" for n in range(7)]
        message = GroupMessage(from_user_id="u", content=HI, disable_push=True)
        single = await rc.fanout(message, groups)  # disable_push: one group a request
        old: Any = await rc.fanout_group(groups, from_user_id="u", content=HI, dedupe=True)
    assert (report.sent, single.sent, old.sent) == (25, 7, 7)
    arrivals = server.emulator.arrivals
    assert sorted(a.targets for a in arrivals if a.api == "chatroom") == [5, 10, 10]
    assert [a.targets for a in arrivals if a.api == "group"][:7] == [1] * 7


async def test_private_and_system_values_send_what_the_keyword_calls_send() -> None:
    api = MockAPI()
    private: PrivateFields = {"from_user_id": "u", "content": HI, "verify_blacklist": True}
    system: SystemFields = {"from_user_id": "sys", "content": HI, "counted": False}
    async with api.client() as rc:
        await rc.publish_private(to_user_ids=["a&1", "b"], **private)
        await rc.publish(PrivateMessage(**private), to=["a&1", "b"])
        await rc.publish_system(to_user_ids=["a"], **system)
        await rc.publish(SystemMessage(**system), to=["a"])
        with pytest.raises(InvalidRequestError) as caught:  # badge: exactly one user
            await rc.publish(PrivateMessage(from_user_id="u", content=HI, badge=3), to=["a", "b"])
        assert caught.value.field == "to_user_ids"
    bodies = [request.content for request in api.requests]
    assert len(bodies) == 4 and bodies[0] == bodies[1] and bodies[2] == bodies[3]
    assert api.requests[0].url.path == "/message/private/publish.json"
    assert api.requests[2].url.path == "/message/system/publish.json"
    with pytest.raises(TypeError, match="no field 'badge'"):
        SystemMessage(**system, badge=1)  # type: ignore[call-arg]
