"""Private and system fan-out, and chatroom broadcasts, at the real quotas (issue #18), on
virtual time: the emulator counts on the same clock, so a minute passes in no wall time."""

from __future__ import annotations

import itertools
from pathlib import Path

import anyio
import pytest
from trio.testing import MockClock

from rongpub import RateLimits
from rongpub.emulator import Emulator, Faults

from .helpers import MESSAGE, emulator_client, ids, journal_outcomes

_VIRTUAL_TIME = [("trio", {"clock": MockClock(autojump_threshold=0)})]
_SPAN = 60.0 + RateLimits().margin  # the private window plus the margin


def _emulator() -> Emulator:
    return Emulator(clock=anyio.current_time, faults=Faults(latency=(0.01, 0.03)), seed=5)


@pytest.mark.parametrize("anyio_backend", _VIRTUAL_TIME)
@pytest.mark.anyio
async def test_a_private_fanout_sends_6000_in_the_first_minute_then_the_rest() -> None:
    emulator = _emulator()
    async with emulator_client(emulator, rate_limits=RateLimits()) as rc:
        report = await rc.fanout_private(ids("u", 6500), keep_results="none", **MESSAGE)
    assert (report.sent, report.failed, report.unknown) == (6500, 0, 0)
    assert "of 6000/60 s" in report.summary()
    assert report.quota_use is not None and report.quota_use > 0.5  # 6,500 of 12,000 at most
    arrivals = emulator.arrivals
    assert [a.targets for a in arrivals] == [1000] * 6 + [500]  # 7 requests for 6,500
    assert {a.outcome for a in arrivals} == {"accepted"}  # no 429, nothing lost
    first = arrivals[0].time
    in_first_minute = sum(a.targets for a in arrivals if a.time < first + 60.0)
    assert in_first_minute == 6000
    assert arrivals[-1].time >= first + _SPAN  # the rest once the first pack left the window
    assert len({r.target_id for r in emulator.records}) == 6500
    assert emulator.stats()["private"].worst_window_accepted == 6000


@pytest.mark.parametrize("anyio_backend", _VIRTUAL_TIME)
@pytest.mark.anyio
async def test_a_system_fanout_keeps_98_percent_of_100_per_second() -> None:
    emulator = _emulator()
    async with emulator_client(emulator, rate_limits=RateLimits()) as rc:
        report = await rc.fanout_system(ids("u", 1500), keep_results="none", **MESSAGE)
    assert report.sent == 1500
    stats = emulator.stats()["system"]
    assert stats.first_arrival is not None and stats.last_arrival is not None
    span = stats.last_arrival - stats.first_arrival
    fastest = (1500 / 100 - 1) * (1.0 + RateLimits().margin)
    assert fastest / span >= 0.98
    assert stats.worst_window_accepted <= 100 and stats.rate_limited == 0
    assert {a.targets for a in emulator.arrivals} == {100}


@pytest.mark.parametrize("anyio_backend", _VIRTUAL_TIME)
@pytest.mark.anyio
async def test_broadcasts_leave_at_most_one_per_second() -> None:
    emulator = _emulator()
    async with emulator_client(emulator, rate_limits=RateLimits()) as rc:

        async def broadcast() -> None:
            await rc.broadcast_chatroom(**MESSAGE)

        async with anyio.create_task_group() as group:
            for _ in range(6):
                group.start_soon(broadcast)
    times = [a.time for a in emulator.arrivals]
    assert len(times) == 6 and {a.outcome for a in emulator.arrivals} == {"accepted"}
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(times))
    assert emulator.stats()["broadcast"].worst_window_accepted == 1


@pytest.mark.anyio
async def test_a_private_fanout_journals_and_resumes(tmp_path: Path) -> None:
    emulator = Emulator(private_limit=100_000)
    journal = tmp_path / "private.jsonl"
    async with emulator_client(emulator) as rc:
        first = await rc.fanout_private(ids("u", 2500), journal=journal, **MESSAGE)
        again = await rc.fanout_private(ids("u", 2500), journal=journal, **MESSAGE)
    assert (first.sent, again.sent, again.already_sent) == (2500, 0, 2500)
    assert b'"api":"private"' in journal.read_bytes().splitlines()[0]
    assert {o.target for o in journal_outcomes(journal)} == set(ids("u", 2500))
    assert [a.targets for a in emulator.arrivals] == [1000, 1000, 500]


@pytest.mark.anyio
async def test_system_packs_hold_at_most_100_and_are_configurable() -> None:
    emulator = Emulator(system_limit=100_000)
    async with emulator_client(emulator) as rc:
        await rc.fanout_system(ids("u", 250), concurrency=1, **MESSAGE)
        await rc.fanout_system(ids("v", 10), pack_size=4, concurrency=1, **MESSAGE)
    assert [a.targets for a in emulator.arrivals] == [100, 100, 50, 4, 4, 2]
    assert emulator.messages(system="v3")[0].api == "system"
