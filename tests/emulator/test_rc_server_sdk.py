"""The official Python SDK (rc-server-sdk 3.2.0) against the CLI server, on loopback.

It signs with seconds timestamps, renders bodies from templates in its own field order and
does not URL-encode ids; the emulator must accept its group and chatroom sends. Its publish
calls take one group or chatroom each and no extraContent, so several groups, 10/11 chatrooms
and extraContent are covered with the Node SDK (test_node_sdk.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rongcloud.rongcloud import RongCloud as OfficialSDK

from rongpub.emulator import EmulatorProcess, start_in_subprocess


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorProcess]:
    with start_in_subprocess(app_key="sdk-key", app_secret="sdk-secret") as process:
        yield process


@pytest.fixture
def sdk(server: EmulatorProcess) -> OfficialSDK:
    server.reset()
    return OfficialSDK("sdk-key", "sdk-secret", host_url=server.url)


def test_group_send(sdk: OfficialSDK, server: EmulatorProcess) -> None:
    group = sdk.get_message().get_group()
    result = group.send("u1", "g1", "RC:TxtMsg", {"content": "hello"}, push_content="hi")
    assert result["code"] == 200
    assert result["messageUIDs"][0]["groupId"] == "g1"
    [record] = server.messages(group="g1")
    assert (record.from_user_id, record.object_name) == ("u1", "RC:TxtMsg")
    assert record.content_json() == {"content": "hello"}
    assert record.fields == {"pushContent": "hi"}


def test_group_send_with_options_and_a_mention(sdk: OfficialSDK, server: EmulatorProcess) -> None:
    content = {"content": "@u2 hi", "mentionedInfo": {"type": 2, "userIdList": ["u2"]}}
    result = (
        sdk.get_message()
        .get_group()
        .send("u1", "g1", "RC:TxtMsg", content, is_persisted=0, is_mentioned=1, expansion=True)
    )
    assert result["code"] == 200
    assert server.messages(group="g1")[0].fields["expansion"] == "True"


def test_directed_group_send(sdk: OfficialSDK, server: EmulatorProcess) -> None:
    group = sdk.get_message().get_group()
    result = group.send_direction("u1", "g1", ["u2", "u3"], "RC:TxtMsg", {"content": "psst"})
    assert result["code"] == 200
    assert server.messages(group="g1")[0].to_user_ids == ("u2", "u3")


def test_chatroom_send(sdk: OfficialSDK, server: EmulatorProcess) -> None:
    result = sdk.get_message().get_chatroom().send("u1", "c1", "RC:TxtMsg", {"content": "hi"})
    assert result["code"] == 200
    assert result["messageUIDs"][0]["chatroomId"] == "c1"
    assert [r.target_id for r in server.messages(chatroom="c1")] == ["c1"]


def test_a_wrong_secret_is_refused_with_1004(server: EmulatorProcess) -> None:
    sdk = OfficialSDK("sdk-key", "not-the-secret", host_url=server.url)
    result = sdk.get_message().get_group().send("u1", "g1", "RC:TxtMsg", {"content": "x"})
    assert b'"code":1004' in result  # the SDK hands back raw bytes on HTTP errors


def test_group_send_with_push_ext(sdk: OfficialSDK, server: EmulatorProcess) -> None:
    # The SDK renders pushExt into the body unencoded; JSON without & or = survives that.
    push_ext = '{"title":"T","pushConfigs":[{"HW":{"channelId":"c"}}]}'
    group = sdk.get_message().get_group()
    assert group.send("u1", "g1", "RC:TxtMsg", {"content": "x"}, push_ext=push_ext)["code"] == 200
    assert server.messages(group="g1")[0].fields["pushExt"] == push_ext


def test_a_forced_429_reaches_the_sdk(sdk: OfficialSDK, server: EmulatorProcess) -> None:
    server.force_rate_limit(requests=1)
    group = sdk.get_message().get_group()
    assert b'"code":1008' in group.send("u1", "g1", "RC:TxtMsg", {"content": "x"})
    assert group.send("u1", "g1", "RC:TxtMsg", {"content": "x"})["code"] == 200


def test_the_sdks_sends_needed_no_relaxed_rule(sdk: OfficialSDK, server: EmulatorProcess) -> None:
    sdk.get_message().get_group().send("u1", "g1", "RC:TxtMsg", {"content": "x"}, expansion=True)
    sdk.get_message().get_chatroom().send("u1", "c1", "RC:TxtMsg", {"content": "x"})
    assert server.warnings() == []
