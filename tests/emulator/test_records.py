"""What the emulator records and how tests query it; the /_emulator/ control endpoints."""

from __future__ import annotations

import json
import re

import msgspec

from rongpub.emulator import Emulator, Faults, Record
from rongpub.emulator._stats import ApiStats

from .helpers import APPS, CHATROOM, TEXT, FakeClock, chatroom_form, group_form, post, signed


def _emulator() -> Emulator:
    return Emulator(APPS, seed=3, clock=FakeClock(300.0))


def test_a_record_keeps_every_field_of_the_message() -> None:
    emulator = _emulator()
    headers = {**signed(), "x-request-id": "req-1"}
    form = group_form(toUserId=["u2", "u3"], pushContent="hi", isPersisted="0")
    reply = post(emulator, form, headers=headers)
    [record] = emulator.records
    assert record == Record(
        app_key="test-key",
        api="group",
        target_id="g1",
        from_user_id="u1",
        object_name="RC:TxtMsg",
        content=TEXT,
        message_uid=json.loads(reply.body)["messageUIDs"][0]["messageUID"],
        arrival=300.0,
        to_user_ids=("u2", "u3"),
        fields={"pushContent": "hi", "isPersisted": "0"},
        request_id="req-1",
    )
    assert record.content_json() == {"content": "hello"}


def test_message_uids_look_like_the_real_ones() -> None:
    emulator = _emulator()
    post(emulator, group_form(toGroupId=["g1", "g2"]))
    for record in emulator.records:
        assert re.fullmatch(r"[0-9A-V]{4}(-[0-9A-V]{4}){3}", record.message_uid)


def test_queries_by_group_chatroom_sender_and_app() -> None:
    emulator = Emulator({**APPS, "b": "secret-b"}, clock=FakeClock())
    post(emulator, group_form(toGroupId=["g1", "g2"]))
    post(emulator, group_form(fromUserId="u9"))
    post(emulator, chatroom_form(toChatroomId="g1"), CHATROOM)
    post(emulator, group_form(toGroupId="g2"), headers=signed("b", "secret-b"))
    assert [r.from_user_id for r in emulator.messages(group="g1")] == ["u1", "u9"]
    assert [r.api for r in emulator.messages(chatroom="g1")] == ["chatroom"]
    assert len(emulator.messages(from_user_id="u9")) == 1
    assert [r.target_id for r in emulator.messages(app_key="b")] == ["g2"]
    assert len(emulator.messages(group="g2", app_key="test-key")) == 1
    assert len(emulator.messages()) == 5


def _control(emulator: Emulator, method: str, target: str, body: bytes = b"") -> bytes:
    reply = emulator.handle(method, "/_emulator/" + target, {}, body)
    assert reply.status == 200, reply.body
    return reply.body


def test_control_endpoints_serve_stats_messages_and_arrivals() -> None:
    emulator = _emulator()
    post(emulator, group_form(toGroupId=["g1", "g2"]))
    post(emulator, chatroom_form(), CHATROOM)
    stats = msgspec.json.decode(_control(emulator, "GET", "stats"), type=dict[str, ApiStats])
    assert stats == emulator.stats()
    messages = msgspec.json.decode(
        _control(emulator, "GET", "messages?group=g2"), type=list[Record]
    )
    assert messages == emulator.messages(group="g2")
    arrivals = json.loads(_control(emulator, "GET", "arrivals"))
    assert [(a["api"], a["targets"]) for a in arrivals] == [("group", 2), ("chatroom", 1)]
    assert b"test-secret" not in _control(emulator, "GET", "messages")


def test_control_endpoints_switch_faults_force_429_and_reset() -> None:
    emulator = _emulator()
    _control(emulator, "PUT", "faults", b'{"error_rate": 1.0}')
    assert emulator.faults == Faults(error_rate=1.0)
    assert json.loads(_control(emulator, "GET", "faults"))["error_rate"] == 1.0
    emulator.faults = Faults()
    _control(emulator, "POST", "rate-limit?requests=1")
    assert post(emulator, group_form()).status == 429
    _control(emulator, "POST", "reset")
    assert emulator.arrivals == []


def test_control_endpoints_refuse_bad_input() -> None:
    emulator = _emulator()
    assert emulator.handle("PUT", "/_emulator/faults", {}, b'{"error_rate": 3}').status == 400
    assert emulator.handle("PUT", "/_emulator/faults", {}, b"{").status == 400
    assert emulator.handle("POST", "/_emulator/rate-limit?requests=x", {}, b"").status == 400
    assert emulator.handle("POST", "/_emulator/rate-limit?seconds=-1", {}, b"").status == 400
    assert emulator.handle("GET", "/_emulator/nothing", {}, b"").status == 404
    assert emulator.handle("DELETE", "/_emulator/stats", {}, b"").status == 404
