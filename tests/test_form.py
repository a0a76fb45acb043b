from urllib.parse import parse_qsl

from hypothesis import given
from hypothesis import strategies as st

from rongpub._form import encode_form

_TEXT = st.text(st.characters(blacklist_categories=["Cs"]))


def test_reserved_characters_spaces_and_chinese_are_escaped() -> None:
    body = encode_form([("toGroupId", "a&b=c+d%e f"), ("toGroupId", "群组1"), ("x", "A-z_0.9~")])
    assert body == (b"toGroupId=a%26b%3Dc%2Bd%25e%20f&toGroupId=%E7%BE%A4%E7%BB%841&x=A-z_0.9~")


def test_bytes_values_are_escaped_as_they_are() -> None:
    assert encode_form([("content", b"\xff{}")]) == b"content=%FF%7B%7D"


@given(st.lists(st.tuples(st.sampled_from(["toGroupId", "content", "k"]), _TEXT)))
def test_round_trip_through_a_standard_form_parser(pairs: list[tuple[str, str]]) -> None:
    body = encode_form(pairs).decode("ascii")
    assert parse_qsl(body, keep_blank_values=True) == pairs if body else pairs == []
