"""The private, system and chatroom-broadcast documents' rules, answers, quotas and the
broadcast service switch (issue #18), against the emulator's core."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from rongpub.emulator import Emulator

from .helpers import APPS, TEXT, FakeClock, answer, code, post, signed

PRIVATE = "/message/private/publish.json"
SYSTEM = "/message/system/publish.json"
BROADCAST = "/message/chatroom/broadcast.json"


def form(**fields: str | Sequence[str]) -> dict[str, str | Sequence[str]]:
    """A valid form for u1 (the broadcast ignores toUserId only when the test removes it)."""
    values: dict[str, str | Sequence[str]] = {
        "fromUserId": "s1",
        "toUserId": "u1",
        "objectName": "RC:TxtMsg",
        "content": TEXT,
    }
    values.update(fields)
    return values


def broadcast_form(**fields: str) -> dict[str, str | Sequence[str]]:
    values = form(**fields)
    del values["toUserId"]
    return values


@pytest.fixture
def emulator() -> Emulator:
    return Emulator(APPS, clock=FakeClock())


@pytest.mark.parametrize("path", [PRIVATE, SYSTEM])
def test_user_sends_answer_a_uid_per_user_and_record_each(emulator: Emulator, path: str) -> None:
    reply = post(emulator, form(toUserId=["u1", "a&b=c+d", "用户"]), path)
    assert code(reply) == (200, 200)
    assert [e["userId"] for e in answer(reply)["messageUIDs"]] == ["u1", "a&b=c+d", "用户"]
    api = "private" if path == PRIVATE else "system"
    assert [r.target_id for r in emulator.messages(api=api)] == ["u1", "a&b=c+d", "用户"]
    assert emulator.messages(**{api: "用户"})[0].object_name == "RC:TxtMsg"


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        (PRIVATE, {"toUserId": []}),
        (PRIVATE, {"toUserId": [f"u{i}" for i in range(1001)]}),
        (PRIVATE, {"toUserId": ["u1", ""]}),
        (PRIVATE, {"count": "10000"}),
        (PRIVATE, {"verifyBlacklist": "2"}),
        (PRIVATE, {"isPersisted": "2"}),
        (PRIVATE, {"expansion": "true", "extraContent": "[1]"}),
        (PRIVATE, {"pushExt": "not json"}),
        (PRIVATE, {"objectName": "RC:TxtMsg", "content": "plain"}),
        (SYSTEM, {"toUserId": [f"u{i}" for i in range(101)]}),
        (SYSTEM, {"isCounted": "5"}),
        (SYSTEM, {"contentAvailable": "-1"}),
        (SYSTEM, {"fromUserId": ""}),
        (BROADCAST, {"isIncludeSender": "3"}),
        (BROADCAST, {"objectName": ""}),
    ],
)
def test_invalid_fields_are_1002(
    strict: Emulator, path: str, fields: dict[str, str | list[str]]
) -> None:
    values = broadcast_form() if path == BROADCAST else form()
    values.update(fields)
    assert code(post(strict, values, path)) == (400, 1002)
    assert strict.records == []


def test_the_largest_sends_the_documents_allow_are_accepted(emulator: Emulator) -> None:
    users = [f"u{i}" for i in range(1000)]
    assert code(post(emulator, form(toUserId=users, count="-1"), PRIVATE)) == (200, 200)
    assert code(post(emulator, form(toUserId=users[:100]), SYSTEM)) == (200, 200)
    assert len(emulator.records) == 1100


def test_a_badge_for_several_users_is_noted_as_ignored(emulator: Emulator) -> None:
    assert code(post(emulator, form(toUserId=["a", "b"], count="3"), PRIVATE)) == (200, 200)
    assert [(w.rule, w.field) for w in emulator.warnings()] == [("ignored-field", "count")]


def test_a_broadcast_is_one_record_without_target(emulator: Emulator) -> None:
    reply = post(emulator, broadcast_form(isIncludeSender="1"), BROADCAST)
    assert code(reply) == (200, 200)
    assert "messageUIDs" not in answer(reply)
    (record,) = emulator.messages(api="broadcast")
    assert (record.target_id, record.fields) == ("", {"isIncludeSender": "1"})
    assert emulator.stats()["broadcast"].accepted_targets == 1


def test_broadcast_service_off_is_1009_until_switched_on(emulator: Emulator) -> None:
    emulator.broadcast_enabled = False
    assert code(post(emulator, broadcast_form(), BROADCAST)) == (430, 1009)
    assert emulator.records == []
    emulator.broadcast_enabled = True
    emulator.clock.advance(1.0)  # type: ignore[attr-defined]
    assert code(post(emulator, broadcast_form(), BROADCAST)) == (200, 200)


def test_broadcasts_off_and_too_frequent_are_429_first(emulator: Emulator) -> None:
    """The page: requests over the limit while the service is off are 429/1008."""
    emulator.broadcast_enabled = False
    assert code(post(emulator, broadcast_form(), BROADCAST)) == (430, 1009)
    assert code(post(emulator, broadcast_form(), BROADCAST)) == (429, 1008)


def test_the_broadcast_switch_is_a_control_endpoint(emulator: Emulator) -> None:
    off = emulator.handle("PUT", "/_emulator/broadcast?enabled=false", {}, b"")
    assert off.status == 200 and not emulator.broadcast_enabled
    bad = emulator.handle("PUT", "/_emulator/broadcast?enabled=maybe", {}, b"")
    assert bad.status == 400 and not emulator.broadcast_enabled
    emulator.handle("PUT", "/_emulator/broadcast?enabled=true", {}, b"")
    assert emulator.broadcast_enabled


def test_broadcasts_are_one_per_second(emulator: Emulator) -> None:
    clock: FakeClock = emulator.clock  # type: ignore[assignment]
    assert code(post(emulator, broadcast_form(), BROADCAST)) == (200, 200)
    clock.advance(0.999)
    assert code(post(emulator, broadcast_form(), BROADCAST)) == (429, 1008)
    clock.advance(0.001)
    assert code(post(emulator, broadcast_form(), BROADCAST)) == (200, 200)


def test_the_private_quota_counts_users_over_60_seconds(emulator: Emulator) -> None:
    clock: FakeClock = emulator.clock  # type: ignore[assignment]
    first = clock.now
    users = [f"u{i}" for i in range(1000)]
    for _ in range(6):
        assert code(post(emulator, form(toUserId=users), PRIVATE)) == (200, 200)
        clock.advance(5.0)
    assert code(post(emulator, form(), PRIVATE)) == (429, 1008)  # 30 s on: still full
    clock.now = first + 59.999
    assert code(post(emulator, form(), PRIVATE)) == (429, 1008)
    clock.now = first + 60.0  # the first pack has left the window
    assert code(post(emulator, form(toUserId=users), PRIVATE)) == (200, 200)
    assert emulator.stats()["private"].worst_window_accepted == 6000


def test_the_system_quota_counts_users_per_second(emulator: Emulator) -> None:
    clock: FakeClock = emulator.clock  # type: ignore[assignment]
    users = [f"u{i}" for i in range(60)]
    assert code(post(emulator, form(toUserId=users), SYSTEM)) == (200, 200)
    assert code(post(emulator, form(toUserId=users), SYSTEM)) == (429, 1008)
    clock.advance(1.0)
    assert code(post(emulator, form(toUserId=users), SYSTEM)) == (200, 200)


def test_the_fixed_window_model_cuts_the_minute_by_the_clock() -> None:
    clock = FakeClock(now=120.0)
    emulator = Emulator(APPS, clock=clock, window="fixed", private_limit=2)
    assert code(post(emulator, form(toUserId=["a", "b"]), PRIVATE)) == (200, 200)
    clock.advance(59.9)
    assert code(post(emulator, form(), PRIVATE)) == (429, 1008)
    clock.advance(0.1)  # 180 s: the next calendar minute
    assert code(post(emulator, form(), PRIVATE)) == (200, 200)


def test_signature_is_checked_first(emulator: Emulator) -> None:
    reply = post(emulator, form(), SYSTEM, headers=signed(secret="wrong"))
    assert reply.status == 401
