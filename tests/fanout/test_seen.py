"""`DigestSet` behaves as a set of strings, in 32 bytes per id at most."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rongpub._fanout.seen import DigestSet

_operations = st.lists(st.tuples(st.booleans(), st.text(max_size=6)), max_size=300)


@given(_operations)
def test_it_agrees_with_a_python_set(operations: list[tuple[bool, str]]) -> None:
    digests, model = DigestSet(), set()
    for adding, value in operations:
        if adding:
            assert digests.add(value) == (value not in model)
            model.add(value)
        else:
            assert digests.discard(value) == (value in model)
            model.discard(value)
        assert len(digests) == len(model)
    for _, value in operations:
        assert (value in digests) == (value in model)


def test_it_grows_past_its_first_table_and_reuses_deleted_slots() -> None:
    digests = DigestSet()
    for number in range(5000):
        assert digests.add(f"g{number}")
    for number in range(0, 5000, 2):
        assert digests.discard(f"g{number}")
    for number in range(5000):
        assert (f"g{number}" in digests) == (number % 2 == 1)
    for number in range(0, 5000, 2):
        assert digests.add(f"g{number}")
    assert len(digests) == 5000
    assert 12 not in digests  # not a string: never present


def test_lone_surrogates_are_distinct_ids() -> None:
    digests = DigestSet()
    assert digests.add("\ud800") and digests.add("\ud801")
    assert "\ud800" in digests and "\udfff" not in digests
