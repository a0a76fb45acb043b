"""Quota windows (fixed and sliding), driven by a fake clock, and the worst-window measure."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from rongpub.emulator import Emulator
from rongpub.emulator._quota import FixedWindow, SlidingWindow, worst_window

from .helpers import APPS, CHATROOM, FakeClock, chatroom_form, code, group_form, post, signed

RATE_LIMITED = (429, 1008)


def test_fixed_window_counts_per_calendar_second() -> None:
    window = FixedWindow(3)
    assert [window.take(10.1, 1), window.take(10.5, 2), window.take(10.99, 1)] == [
        True,
        True,
        False,
    ]
    assert window.take(11.0, 3)  # a new calendar second starts empty
    assert not window.take(11.9, 1)


def test_sliding_window_holds_any_one_second() -> None:
    window = SlidingWindow(3)
    assert window.take(10.5, 2)
    assert window.take(10.9, 1)
    assert not window.take(11.0, 1)  # the 10.5 and 10.9 admissions are within (10.0, 11.0]
    assert window.take(11.5, 2)  # 10.5 left the window at exactly 11.5
    assert not window.take(11.8, 1)


def test_a_request_larger_than_the_limit_never_fits() -> None:
    assert not SlidingWindow(2).take(0.0, 3)
    assert not FixedWindow(2).take(0.0, 3)


def test_fixed_model_lets_twice_the_limit_straddle_a_boundary() -> None:
    clock = FakeClock(100.5)
    emulator = Emulator(APPS, group_limit=3, window="fixed", clock=clock)
    for _ in range(3):
        assert code(post(emulator, group_form())) == (200, 200)
    assert code(post(emulator, group_form())) == RATE_LIMITED
    clock.advance(0.5)  # 101.0: the next calendar second
    for _ in range(3):
        assert code(post(emulator, group_form())) == (200, 200)
    stats = emulator.stats()["group"]
    assert stats.worst_window_accepted == 6
    assert (stats.accepted_targets, stats.rate_limited) == (6, 1)


def test_sliding_model_refuses_the_same_straddle() -> None:
    clock = FakeClock(100.5)
    emulator = Emulator(APPS, group_limit=3, window="sliding", clock=clock)
    for _ in range(3):
        post(emulator, group_form())
    clock.advance(0.5)
    assert code(post(emulator, group_form())) == RATE_LIMITED
    clock.advance(0.5)  # 101.5: the first three left the window
    assert code(post(emulator, group_form(toGroupId=["g1", "g2", "g3"]))) == (200, 200)
    assert emulator.stats()["group"].worst_window_accepted == 3


def test_quota_counts_targets_not_requests() -> None:
    emulator = Emulator(APPS, group_limit=5, clock=FakeClock())
    assert code(post(emulator, group_form(toGroupId=["g1", "g2", "g3"]))) == (200, 200)
    assert code(post(emulator, group_form(toGroupId=["g1", "g2", "g3"]))) == RATE_LIMITED
    assert code(post(emulator, group_form(toGroupId=["g1", "g2"]))) == (200, 200)


def test_over_quota_answers_are_not_recorded_and_carry_no_retry_after() -> None:
    emulator = Emulator(APPS, group_limit=1, clock=FakeClock())
    post(emulator, group_form())
    reply = post(emulator, group_form(toGroupId="g2"))
    assert code(reply) == RATE_LIMITED
    assert [record.target_id for record in emulator.records] == ["g1"]
    assert dict(reply.headers).get("retry-after") is None


def test_group_and_chatroom_quotas_and_apps_are_separate() -> None:
    apps = {**APPS, "other": "other-secret"}
    emulator = Emulator(apps, group_limit=1, chatroom_limit=2, clock=FakeClock())
    assert code(post(emulator, group_form())) == (200, 200)
    assert code(post(emulator, chatroom_form(toChatroomId=["c1", "c2"]), CHATROOM)) == (200, 200)
    assert code(post(emulator, group_form(), headers=signed("other", "other-secret"))) == (
        200,
        200,
    )
    assert code(post(emulator, group_form())) == RATE_LIMITED
    assert code(post(emulator, chatroom_form(), CHATROOM)) == RATE_LIMITED


def test_default_limits_are_the_documented_ones() -> None:
    emulator = Emulator(APPS, clock=FakeClock())
    assert emulator.limits == {
        "group": 20,
        "chatroom": 100,
        "private": 6000,
        "system": 100,
        "broadcast": 1,
    }


def test_stats_record_every_arrival_and_the_accepted_rate() -> None:
    clock = FakeClock(200.0)
    emulator = Emulator(APPS, group_limit=2, clock=clock)
    for _ in range(5):  # at 200.0: 2 accepted, 3 refused
        post(emulator, group_form())
    for _ in range(4):  # 200.5 refused (window still full); 201.0, 201.5, 202.0 accepted
        clock.advance(0.5)
        post(emulator, group_form())
    stats = emulator.stats()["group"]
    assert (stats.requests, stats.accepted_requests, stats.rate_limited) == (9, 5, 4)
    assert stats.worst_window_arrived == 6
    assert stats.worst_window_accepted == 2
    assert stats.accepted_rate == pytest.approx(5 / 2.0)
    assert (stats.first_arrival, stats.last_arrival) == (200.0, 202.0)
    assert stats.outcomes == {"accepted": 5, "rate_limited": 4}


def test_stats_can_be_read_per_app() -> None:
    emulator = Emulator({**APPS, "b": "secret-b"}, clock=FakeClock())
    post(emulator, group_form())
    post(emulator, group_form(), headers=signed("b", "secret-b"))
    assert emulator.stats("b")["group"].requests == 1
    assert emulator.stats()["group"].requests == 2


def test_emulator_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="window"):
        Emulator(APPS, window="leaky")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="limits"):
        Emulator(APPS, group_limit=0)


def _brute_force_worst(events: list[tuple[float, int]]) -> int:
    return max(
        (sum(w for t, w in events if start <= t < start + 1.0) for start, _ in events), default=0
    )


@given(
    st.lists(
        st.tuples(st.integers(0, 4000).map(lambda ms: ms / 1000), st.integers(1, 5)),
        max_size=40,
    )
)
@example([(0.005, 1), (1.005, 1)])  # 1.005 - 1 < 0.005 in binary floating point
def test_worst_window_matches_brute_force(events: list[tuple[float, int]]) -> None:
    events.sort()
    assert worst_window(events) == _brute_force_worst(events)


@given(st.lists(st.integers(0, 3000).map(lambda ms: ms / 1000), max_size=60), st.integers(1, 5))
def test_sliding_window_admissions_never_exceed_the_limit_in_any_second(
    times: list[float], limit: int
) -> None:
    window = SlidingWindow(limit)
    admitted = [(t, 1) for t in sorted(times) if window.take(t, 1)]
    assert worst_window(admitted) <= limit
