"""The pure scheduling core: exact log, FIFO with an overtaking budget, pacing, pauses."""

from __future__ import annotations

import math

import pytest

from rongpub._limit.schedule import Schedule


def schedule(
    limit: int = 5, span: float = 1.0, overtake: int = 0, interval: float = 0.0
) -> Schedule:
    return Schedule(limit=limit, span=span, overtake=overtake, interval=interval)


def test_head_leaves_while_its_cost_fits_in_the_window() -> None:
    s = schedule(limit=5)
    a, b = s.enqueue(3), s.enqueue(2)
    assert s.pick(0.0) is a
    s.take(a, 0.0)
    assert s.pick(0.1) is b
    s.take(b, 0.1)
    s.enqueue(1)
    assert s.pick(0.5) is None
    assert s.used(0.5) == 5


def test_a_release_counts_until_exactly_span_later() -> None:
    s = schedule(limit=1, span=1.25)
    a = s.enqueue(1)
    s.take(a, 10.0)
    b = s.enqueue(1)
    assert s.pick(11.2499) is None
    assert s.next_change(11.0) == 11.25
    assert s.pick(11.25) is b


def test_strict_fifo_lets_no_later_request_use_idle_units() -> None:
    s = schedule(limit=3, overtake=0)
    first = s.enqueue(2)
    s.take(first, 0.0)
    big, small = s.enqueue(3), s.enqueue(1)
    assert s.pick(0.5) is None  # one unit is free, but only for `big`
    assert s.next_change(0.5) == 1.0
    assert s.pick(1.0) is big
    assert small.cost == 1


def test_a_later_request_may_overtake_within_the_budget_only() -> None:
    s = schedule(limit=3, overtake=2)
    s.take(s.enqueue(2), 0.0)
    big = s.enqueue(3)
    smalls = [s.enqueue(1) for _ in range(3)]
    assert s.pick(0.1) is smalls[0]
    s.take(smalls[0], 0.1)
    assert big.overtaken == 1
    assert s.pick(1.05) is smalls[1]  # the 2 units from t=0 expired; big needs 3
    s.take(smalls[1], 1.05)
    assert big.overtaken == 2  # budget spent: nobody may pass `big` any more
    assert s.pick(1.2) is None
    assert s.pick(2.1) is big


def test_an_overtaker_larger_than_the_smallest_budget_waits() -> None:
    s = schedule(limit=4, overtake=3)
    s.take(s.enqueue(1), 0.0)
    s.take(s.enqueue(1), 0.0)
    head, mid, big_tail, small_tail = s.enqueue(3), s.enqueue(4), s.enqueue(2), s.enqueue(1)
    mid.overtaken = 2
    assert s.pick(0.5) is small_tail  # big_tail (2) would overrun mid's budget (1 left)
    s.take(small_tail, 0.5)
    assert [head.overtaken, mid.overtaken, big_tail.overtaken] == [1, 3, 1]


def test_the_largest_later_request_that_fits_overtakes_first() -> None:
    s = schedule(limit=4, overtake=8)
    s.take(s.enqueue(2), 0.0)
    head, one, two, other_two = s.enqueue(3), s.enqueue(1), s.enqueue(2), s.enqueue(2)
    assert s.pick(0.1) is two  # fills both free units; the oldest of the two that do
    s.take(two, 0.1)
    assert [head.overtaken, one.overtaken, other_two.overtaken] == [2, 2, 0]


def test_pacing_keeps_releases_apart() -> None:
    s = schedule(limit=10, interval=0.05)
    a, b = s.enqueue(1), s.enqueue(1)
    s.take(a, 0.0)
    assert s.pick(0.049) is None
    assert s.next_change(0.01) == 0.05
    assert s.pick(0.05) is b


def test_a_ticket_enqueued_first_goes_ahead_of_everyone() -> None:
    s = schedule(limit=5)
    waiting = s.enqueue(1)
    again = s.enqueue(2, first=True)
    assert s.head is again
    assert s.pick(0.0) is again
    s.take(again, 0.0)
    assert s.head is waiting


def test_pause_holds_everyone_until_its_deadline() -> None:
    s = schedule(limit=10)
    a = s.enqueue(1)
    s.pause_until(2.0)
    s.pause_until(1.0)  # an earlier deadline does not shorten the pause
    assert s.pick(1.5) is None
    assert s.next_change(1.5) == 2.0
    assert s.pick(2.0) is a


def test_withdrawn_ticket_no_longer_blocks() -> None:
    s = schedule(limit=2)
    s.take(s.enqueue(1), 0.0)
    big, small = s.enqueue(2), s.enqueue(1)
    assert s.pick(0.5) is None
    s.withdraw(big)
    assert s.pick(0.5) is small
    assert s.waiting == 1


def test_nobody_waiting_means_no_timer() -> None:
    s = schedule()
    assert s.next_change(0.0) == math.inf
    assert s.head is None
    assert s.pick(0.0) is None


@pytest.mark.parametrize("cost", [0, 6, -1])
def test_cost_outside_one_to_limit_is_refused(cost: int) -> None:
    with pytest.raises(ValueError, match="between 1 and the limit 5"):
        schedule(limit=5).enqueue(cost)
