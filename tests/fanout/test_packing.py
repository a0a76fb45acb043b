"""Packs tile the quota, so that packing never lowers the sustained rate below it."""

from __future__ import annotations

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st
from trio.testing import MockClock

import rongpub._fanout.engine as fanout_module
from rongpub import Lane, RateLimits, RongCloud
from rongpub._fanout.packing import Packer, pack_cycle
from rongpub.emulator import Emulator, Faults

from .helpers import MESSAGE, emulator_client, ids

_VIRTUAL_TIME = [("trio", {"clock": MockClock(autojump_threshold=0)})]


def test_pack_sizes_tile_the_documented_quotas() -> None:
    assert pack_cycle(3, 20) == (3, 3, 3, 3, 3, 3, 2)
    assert pack_cycle(10, 100) == (10,) * 10
    assert pack_cycle(3, 2) == (2,)
    assert pack_cycle(1, 20) == (1,) * 20
    assert pack_cycle(3, None) == (3,)


@given(maximum=st.integers(1, 50), limit=st.integers(1, 500))
def test_a_cycle_sums_to_the_limit_in_packs_no_larger_than_allowed(
    maximum: int, limit: int
) -> None:
    cycle = pack_cycle(maximum, limit)
    assert sum(cycle) == limit
    assert all(1 <= size <= maximum for size in cycle)
    assert len(cycle) == -(-limit // maximum)  # as few requests as the quota allows


def test_a_pack_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        pack_cycle(0, 20)


def test_the_packer_follows_the_cycle_and_hands_over_the_rest() -> None:
    packer = Packer((3, 1))
    done = [pack for target in ids("g", 9) if (pack := packer.add(target))]
    assert done == [["g0", "g1", "g2"], ["g3"], ["g4", "g5", "g6"], ["g7"]]
    assert packer.take() == ["g8"]
    assert packer.take() == []


def test_a_repeated_id_closes_the_pack_early() -> None:
    packer = Packer((3,))
    assert packer.add("a") is None
    assert packer.add("a") == ["a"]
    assert packer.pending == ["a"]


async def _run_at_real_quota(
    api: str, count: int, cycle: tuple[int, ...] | None = None, lane: Lane = "bulk"
) -> tuple[float, int, int]:
    """Fan out `count` targets at the real quotas on virtual time; returns (seconds from
    the first arrival to the last, the most targets accepted in any 1 s window, 429s)."""
    emulator = Emulator(clock=anyio.current_time, faults=Faults(latency=(0.01, 0.03)), seed=3)
    async with emulator_client(emulator, rate_limits=RateLimits()) as rc:
        run = rc.fanout_group if api == "group" else rc.fanout_chatroom
        report = await run(ids("t", count), keep_results="none", lane=lane, **MESSAGE)
    assert report.sent == count
    stats = emulator.stats()[api]
    assert stats.first_arrival is not None and stats.last_arrival is not None
    span = stats.last_arrival - stats.first_arrival
    return span, stats.worst_window_accepted, stats.rate_limited


@pytest.mark.parametrize("anyio_backend", _VIRTUAL_TIME)
@pytest.mark.parametrize(("api", "limit", "count"), [("group", 20, 300), ("chatroom", 100, 1500)])
@pytest.mark.parametrize("lane", ["bulk", "interactive"])
@pytest.mark.anyio
async def test_the_quota_is_used_to_at_least_98_percent_and_never_exceeded(
    api: str, limit: int, count: int, lane: Lane
) -> None:
    span, worst, rate_limited = await _run_at_real_quota(api, count, lane=lane)
    window = 1.0 + RateLimits().margin
    if lane == "interactive":
        fastest = (count / limit - 1) * window  # a full window at once, then one per window
    else:  # bulk is paced from its first send: evenly spread, up to the last pack
        fastest = (count - {"group": 3, "chatroom": 10}[api]) / limit * window
    assert fastest / span >= 0.98
    assert worst <= limit and rate_limited == 0


@pytest.mark.parametrize("anyio_backend", _VIRTUAL_TIME)
@pytest.mark.anyio
async def test_full_packs_of_three_would_waste_a_tenth_of_the_group_quota(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fanout_module, "pack_cycle", lambda maximum, limit: (3,))
    span, _, _ = await _run_at_real_quota("group", 300)
    assert (300 / 20 - 1) * 1.01 / span < 0.92  # the reason for the cycle above


@pytest.mark.anyio
async def test_the_emulator_sees_the_pack_cycle() -> None:
    emulator = Emulator(group_limit=1000)
    async with emulator_client(emulator, rate_limits=RateLimits(group=20)) as rc:
        await rc.fanout_group(ids("g", 20), concurrency=1, **MESSAGE)  # one window's worth
    assert [a.targets for a in emulator.arrivals] == [3, 3, 3, 3, 3, 3, 2]


@pytest.mark.anyio
async def test_a_message_that_needs_one_group_is_sent_one_group_at_a_time() -> None:
    emulator = Emulator(group_limit=1000)
    async with emulator_client(emulator) as rc:
        report = await rc.fanout_group(ids("g", 5), to_user_ids=["u1"], **MESSAGE)
    assert report.sent == 5
    assert [a.targets for a in emulator.arrivals] == [1] * 5
    assert emulator.records[0].to_user_ids == ("u1",)


@pytest.mark.anyio
async def test_chatroom_packs_are_configurable() -> None:
    emulator = Emulator(chatroom_limit=1000)
    rc: RongCloud
    async with emulator_client(emulator) as rc:
        await rc.fanout_chatroom(ids("c", 10), pack_size=4, concurrency=1, **MESSAGE)
    assert [a.targets for a in emulator.arrivals] == [4, 4, 2]
