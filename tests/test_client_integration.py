"""The client against the emulator as a real HTTP server on loopback (sockets, no mocks)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from rongpub import (
    AuthenticationError,
    DeliveryUnknownError,
    RateLimits,
    RongCloud,
    TextMessage,
)
from rongpub.emulator import Emulator, Faults, Server, serve

pytestmark = pytest.mark.anyio

KEY, SECRET = "it-key", "it-secret"
LIMITS = RateLimits(group=1000, chatroom=1000)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    emulator = Emulator({KEY: SECRET}, group_limit=1000, chatroom_limit=1000, seed=7)
    async with serve(emulator) as running:
        yield running


def client(*base_urls: str, secret: str = SECRET) -> RongCloud:
    return RongCloud(KEY, secret, base_urls=base_urls, rate_limits=LIMITS)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def test_awkward_ids_and_fields_arrive_byte_for_byte(server: Server) -> None:
    groups = ["a&b=c", "百 家+%", "g 3"]
    async with client(server.url) as rc:
        result = await rc.publish_group(
            from_user_id="发送者&1",
            group_ids=groups,
            content=TextMessage(content="你好 & = +"),
            push_content="推送",
            persisted=False,
        )
    records = server.emulator.records
    assert [record.target_id for record in records] == groups
    assert {record.from_user_id for record in records} == {"发送者&1"}
    assert records[0].content_json() == {"content": "你好 & = +"}
    assert records[0].fields["pushContent"] == "推送"
    assert records[0].fields["isPersisted"] == "0"
    assert result.message_uids == {record.target_id: record.message_uid for record in records}
    assert records[0].request_id == result.request_id


async def test_chatroom_send_is_recorded_per_room(server: Server) -> None:
    rooms = [f"room-{i}" for i in range(10)]
    async with client(server.url) as rc:
        result = await rc.publish_chatroom(
            from_user_id="u", chatroom_ids=rooms, object_name="App:Ping", content="{}", priority=3
        )
    assert sorted(result.message_uids) == rooms
    assert [r.target_id for r in server.emulator.messages(chatroom="room-4")] == ["room-4"]


async def test_a_dead_primary_fails_over_to_the_backup(server: Server) -> None:
    async with client(closed_port_url(), server.url) as rc:
        result = await rc.publish_group(
            from_user_id="u", group_ids=["g"], content=TextMessage(content="x")
        )
    assert list(result.message_uids) == ["g"]


async def test_a_reset_after_recording_is_reported_as_unknown(server: Server) -> None:
    server.emulator.faults = Faults(reset_after_rate=1.0)
    async with client(server.url) as rc:
        with pytest.raises(DeliveryUnknownError):
            await rc.publish_group(
                from_user_id="u", group_ids=["g"], content=TextMessage(content="x")
            )
    # The server did take it: reporting it as failed (or retrying) would have been wrong.
    assert [record.target_id for record in server.emulator.records] == ["g"]


async def test_429_bursts_are_waited_out_and_retried(server: Server) -> None:
    server.emulator.faults = Faults(retry_after=0.0)
    server.emulator.force_rate_limit(requests=2)
    async with client(server.url) as rc:
        result = await rc.publish_group(
            from_user_id="u", group_ids=["g"], content=TextMessage(content="x")
        )
    assert list(result.message_uids) == ["g"]
    assert [arrival.outcome for arrival in server.emulator.arrivals].count("accepted") == 1
    assert len(server.emulator.arrivals) == 3


async def test_a_wrong_secret_is_an_authentication_error(server: Server) -> None:
    async with client(server.url, secret="wrong") as rc:
        with pytest.raises(AuthenticationError) as caught:
            await rc.publish_group(
                from_user_id="u", group_ids=["g"], content=TextMessage(content="x")
            )
    assert caught.value.code == 1004
    assert "wrong" not in str(caught.value)
