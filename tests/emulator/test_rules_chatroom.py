"""The chatroom publish document's rules and answer shape."""

from __future__ import annotations

import pytest

from rongpub.emulator import Emulator

from .helpers import APPS, CHATROOM, answer, chatroom_form, code, post, signed

DOC_EXAMPLE = (
    "content=%7B%22content%22%3A%22hello%22%2C%22extra%22%3A%22helloExtra%22%7D&fromUserId=2191"
    "&toChatroomId=2192&toChatroomId=2193&objectName=RC:TxtMsg"
)


@pytest.fixture
def emulator() -> Emulator:
    return Emulator(APPS)


def test_the_documents_example_is_accepted_with_chatroom_id_entries(emulator: Emulator) -> None:
    reply = emulator.handle("POST", CHATROOM, signed(), DOC_EXAMPLE.encode())
    assert code(reply) == (200, 200)
    assert [entry["chatroomId"] for entry in answer(reply)["messageUIDs"]] == ["2192", "2193"]


def test_more_than_ten_chatrooms_are_allowed(emulator: Emulator) -> None:
    rooms = [f"c{i}" for i in range(12)]
    assert code(post(emulator, chatroom_form(toChatroomId=rooms), CHATROOM)) == (200, 200)
    assert len(emulator.messages()) == 12


@pytest.mark.parametrize(
    "fields",
    [
        {"toChatroomId": []},
        {"toChatroomId": ["c1", ""]},
        {"priority": "4"},
        {"priority": "high"},
        {"isPersisted": "2"},
        {"isIncludeSender": "x"},
        {"objectName": "RC:Custom"},
        {"content": "plain"},
    ],
)
def test_invalid_chatroom_fields_are_1002(
    strict: Emulator, fields: dict[str, str | list[str]]
) -> None:
    assert code(post(strict, chatroom_form(**fields), CHATROOM)) == (400, 1002)


@pytest.mark.parametrize("priority", ["0", "1", "2", "3"])
def test_priority_0_to_3_is_accepted(emulator: Emulator, priority: str) -> None:
    assert code(post(emulator, chatroom_form(priority=priority), CHATROOM)) == (200, 200)
    assert emulator.records[0].fields["priority"] == priority


def test_chatroom_content_and_ids_have_the_same_limits(emulator: Emulator) -> None:
    big = chatroom_form(objectName="App:Blob", content="x" * (128 * 1024 + 1))
    assert code(post(emulator, big, CHATROOM)) == (400, 1005)
    assert code(post(emulator, chatroom_form(toChatroomId="c" * 65), CHATROOM)) == (400, 1005)


def test_unknown_paths_are_404_and_publish_needs_post(emulator: Emulator) -> None:
    assert code(emulator.handle("POST", "/message/ultragroup/publish.json", signed(), b"")) == (
        404,
        404,
    )
    assert code(emulator.handle("GET", CHATROOM, signed(), b"")) == (405, 405)
    assert emulator.arrivals == []
