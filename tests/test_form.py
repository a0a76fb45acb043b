import uuid
from urllib.parse import parse_qsl, quote, quote_from_bytes

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rongpub import InvalidRequestError, TextMessage
from rongpub._form import encode_form
from rongpub._request import chatroom_template, group_template, request_id

_TEXT = st.text(st.characters(blacklist_categories=["Cs"]))
_ID = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=64)  # the API's


def test_reserved_characters_spaces_and_chinese_are_escaped() -> None:
    body = encode_form([("toGroupId", "a&b=c+d%e f"), ("toGroupId", "群组1"), ("x", "A-z_0.9~")])
    assert body == (b"toGroupId=a%26b%3Dc%2Bd%25e%20f&toGroupId=%E7%BE%A4%E7%BB%841&x=A-z_0.9~")


def test_bytes_values_are_escaped_as_they_are() -> None:
    assert encode_form([("content", b"\xff{}")]) == b"content=%FF%7B%7D"


@given(st.lists(st.tuples(st.sampled_from(["toGroupId", "content", "k"]), _TEXT)))
def test_round_trip_through_a_standard_form_parser(pairs: list[tuple[str, str]]) -> None:
    body = encode_form(pairs).decode("ascii")
    assert parse_qsl(body, keep_blank_values=True) == pairs if body else pairs == []


@given(st.lists(_ID, min_size=1, max_size=3, unique=True), _ID)
def test_any_unicode_ids_arrive_unchanged(groups: list[str], sender: str) -> None:
    template = group_template(from_user_id=sender, content=TextMessage(content="x"))
    pairs = parse_qsl(template.to(groups).body.decode("ascii"))
    assert pairs[0] == ("fromUserId", sender)
    assert [value for key, value in pairs if key == "toGroupId"] == groups


def test_lone_surrogates_are_refused_before_sending() -> None:
    template = group_template(from_user_id="u", content=TextMessage(content="x"))
    with pytest.raises(InvalidRequestError) as caught:
        template.to(["\ud800"])
    assert caught.value.field == "group_ids"
    with pytest.raises(InvalidRequestError, match="content"):
        chatroom_template(from_user_id="u", object_name="A:B", content="\udfff")


@given(st.one_of(st.binary(), _TEXT))
def test_values_are_escaped_exactly_as_urllib_quote_does(value: str | bytes) -> None:
    if isinstance(value, bytes):
        expected = quote_from_bytes(value, safe="-._~")
    else:
        expected = quote(value, safe="-._~")
    assert encode_form([("k", value)]) == f"k={expected}".encode("ascii")


def test_request_ids_are_distinct_version_4_uuids() -> None:
    ids = [request_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert (str(parsed), parsed.version, parsed.variant) == (text, 4, uuid.RFC_4122)
    # Every variant nibble occurs (its two low bits stay random).
    assert {text[19] for text in ids} == set("89ab")
