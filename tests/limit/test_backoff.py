"""The pause after a 429 without Retry-After: short at first, longer while 429s go on."""

from __future__ import annotations

import pytest

from rongpub._limit.backoff import MIN_STEP, Backoff


def backoff() -> Backoff:
    return Backoff(span=1.01, step=0.01)


def test_a_first_429_holds_until_the_next_unit_frees_plus_the_margin() -> None:
    assert backoff().hold(5.0, next_free=5.3) == pytest.approx(0.31)
    assert backoff().hold(5.0, next_free=4.0) == pytest.approx(0.01)  # nothing to wait for


def test_429s_within_a_window_of_the_counted_one_do_not_escalate() -> None:
    b = backoff()
    holds = [b.hold(t, next_free=t) for t in (5.0, 5.01, 5.2, 5.9)]
    assert holds == pytest.approx([0.01] * 4)


def test_429s_in_the_following_windows_grow_the_hold_up_to_a_window() -> None:
    b = backoff()
    holds = [b.hold(5.0 + 1.5 * k, next_free=0.0) for k in range(6)]
    assert holds == pytest.approx([0.01, 0.04, 0.16, 0.64, 1.01, 1.01])


def test_three_quiet_windows_start_over() -> None:
    b = backoff()
    b.hold(5.0, next_free=0.0)
    assert b.hold(6.5, next_free=0.0) == pytest.approx(0.04)
    assert b.hold(6.5 + 3 * 1.01, next_free=0.0) == pytest.approx(0.01)


def test_a_zero_margin_still_holds_a_little() -> None:
    assert Backoff(span=1.0, step=0.0).hold(1.0, next_free=1.0) == MIN_STEP
