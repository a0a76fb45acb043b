"""Each injected fault, through the core: latency, 5xx, resets, forced and periodic 429s."""

from __future__ import annotations

import pytest

from rongpub.emulator import Emulator, Faults

from .helpers import APPS, FakeClock, code, group_form, post, signed


def _run(faults: Faults, requests: int = 200, seed: int = 7) -> Emulator:
    emulator = Emulator(APPS, faults=faults, seed=seed, group_limit=10_000, clock=FakeClock())
    for i in range(requests):
        post(emulator, group_form(toGroupId=f"g{i}"))
    return emulator


def test_latency_is_drawn_uniformly_between_min_and_max() -> None:
    emulator = Emulator(APPS, faults=Faults(latency=(0.05, 0.3)), seed=1, clock=FakeClock())
    delays = [post(emulator, group_form(toGroupId=f"g{i}")).delay for i in range(15)]
    assert all(0.05 <= delay <= 0.3 for delay in delays)
    assert len(set(delays)) == len(delays)


def test_latency_also_delays_errors_and_a_fixed_latency_is_exact() -> None:
    emulator = Emulator(APPS, faults=Faults(latency=(0.1, 0.1)), clock=FakeClock())
    assert post(emulator, group_form(), headers=signed(secret="wrong")).delay == 0.1


def test_no_faults_means_no_delay() -> None:
    assert post(Emulator(APPS, clock=FakeClock()), group_form()).delay == 0.0


def test_the_same_seed_gives_the_same_faults_and_uids() -> None:
    faults = Faults(latency=(0.0, 1.0), error_rate=0.3, reset_after_rate=0.2)
    first, second = _run(faults, 50), _run(faults, 50)
    assert [a.outcome for a in first.arrivals] == [a.outcome for a in second.arrivals]
    assert [r.message_uid for r in first.records] == [r.message_uid for r in second.records]


def test_error_rate_answers_500_1000_or_504_1050_and_records_nothing() -> None:
    emulator = _run(Faults(error_rate=0.25))
    errors = emulator.stats()["group"].outcomes["server_error"]
    assert 25 <= errors <= 75  # 200 draws at 25 % (seeded, so the count is fixed)
    assert len(emulator.records) == 200 - errors
    replies = {code(post(emulator, group_form())) for _ in range(60)}
    assert {(500, 1000), (504, 1050)} <= replies


def test_error_rate_one_fails_everything() -> None:
    emulator = _run(Faults(error_rate=1.0), requests=10)
    assert emulator.records == []


def test_reset_before_recording_leaves_no_record() -> None:
    emulator = Emulator(APPS, faults=Faults(reset_before_rate=1.0), clock=FakeClock())
    reply = post(emulator, group_form())
    assert reply.reset
    assert not reply.recorded
    assert emulator.records == []
    assert emulator.arrivals[0].outcome == "reset_before"


def test_reset_after_recording_keeps_the_record() -> None:
    emulator = Emulator(APPS, faults=Faults(reset_after_rate=1.0), clock=FakeClock())
    reply = post(emulator, group_form())
    assert reply.reset
    assert reply.recorded
    assert [record.target_id for record in emulator.records] == ["g1"]
    assert emulator.stats()["group"].accepted_targets == 1  # delivered, though unanswered


def test_reset_fractions_are_honoured_roughly() -> None:
    emulator = _run(Faults(reset_before_rate=0.1, reset_after_rate=0.1), requests=400)
    outcomes = emulator.stats()["group"].outcomes
    assert 15 <= outcomes["reset_before"] <= 70
    assert 15 <= outcomes["reset_after"] <= 70


def test_invalid_requests_are_answered_before_faults() -> None:
    emulator = Emulator(APPS, faults=Faults(error_rate=1.0, reset_before_rate=1.0))
    assert code(post(emulator, group_form(toGroupId=""))) == (400, 1002)


def test_forcing_the_next_n_requests_to_429() -> None:
    emulator = Emulator(APPS, clock=FakeClock())
    emulator.force_rate_limit(requests=2)
    replies = [code(post(emulator, group_form())) for _ in range(3)]
    assert replies == [(429, 1008), (429, 1008), (200, 200)]
    stats = emulator.stats()["group"]
    assert (stats.injected_rate_limited, stats.rate_limited) == (2, 0)


def test_forcing_429_for_a_time_span() -> None:
    clock = FakeClock(50.0)
    emulator = Emulator(APPS, clock=clock)
    emulator.force_rate_limit(seconds=2.0)
    assert code(post(emulator, group_form())) == (429, 1008)
    clock.advance(1.9)
    assert code(post(emulator, group_form())) == (429, 1008)
    clock.advance(0.1)
    assert code(post(emulator, group_form())) == (200, 200)


def test_periodic_429_bursts_follow_the_clock() -> None:
    clock = FakeClock(100.0)
    faults = Faults(rate_limit_every=10.0, rate_limit_length=2.0)
    emulator = Emulator(APPS, faults=faults, clock=clock)
    answers = []
    for _ in range(6):
        answers.append(code(post(emulator, group_form()))[0])
        clock.advance(1.5)  # 100.0, 101.5, 103.0, 104.5, 106.0, 107.5 ... then 110.0
    clock.now = 110.5
    answers.append(code(post(emulator, group_form()))[0])
    assert answers == [429, 429, 200, 200, 200, 200, 429]


def test_retry_after_header_on_every_429_when_asked() -> None:
    emulator = Emulator(APPS, group_limit=1, faults=Faults(retry_after=1.5), clock=FakeClock())
    emulator.force_rate_limit(requests=1)
    forced = post(emulator, group_form())
    post(emulator, group_form())
    over_quota = post(emulator, group_form())
    assert dict(forced.headers)["retry-after"] == "1.5"
    assert dict(over_quota.headers)["retry-after"] == "1.5"


def test_faults_can_be_switched_during_a_run() -> None:
    emulator = Emulator(APPS, clock=FakeClock())
    emulator.faults = Faults(error_rate=1.0)
    assert code(post(emulator, group_form()))[0] >= 500
    emulator.faults = Faults()
    assert code(post(emulator, group_form())) == (200, 200)


def test_reset_clears_forced_bursts_records_and_quota() -> None:
    emulator = Emulator(APPS, group_limit=1, clock=FakeClock())
    post(emulator, group_form())
    emulator.force_rate_limit(requests=5)
    emulator.reset()
    assert (emulator.records, emulator.arrivals) == ([], [])
    assert code(post(emulator, group_form())) == (200, 200)


@pytest.mark.parametrize(
    "options",
    [
        {"latency": (0.3, 0.05)},
        {"latency": (-1.0, 0.0)},
        {"error_rate": 1.5},
        {"reset_before_rate": -0.1},
        {"reset_after_rate": 2.0},
        {"rate_limit_every": 1.0, "rate_limit_length": 0.0},
        {"rate_limit_every": 1.0, "rate_limit_length": 2.0},
        {"retry_after": -1.0},
    ],
)
def test_inconsistent_faults_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Faults(**options)  # type: ignore[arg-type]
