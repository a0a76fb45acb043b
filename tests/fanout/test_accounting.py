"""Every target ends with exactly one outcome, checked against what the emulator recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rongpub import RetryPolicy
from rongpub.emulator import Faults

from .helpers import (
    MESSAGE,
    check_accounting,
    emulator_client,
    ids,
    journal_outcomes,
    last_status,
    lifted_emulator,
)

_FAULTS = Faults(error_rate=0.1, reset_before_rate=0.05, reset_after_rate=0.05)


@pytest.mark.anyio
async def test_every_group_is_sent_once_on_a_healthy_server(tmp_path: Path) -> None:
    emulator = lifted_emulator()
    targets = ids("g", 200)
    async with emulator_client(emulator) as rc:
        report = await rc.fanout_group(
            iter(targets), journal=tmp_path / "j.jsonl", keep_results="all", **MESSAGE
        )
    statuses = check_accounting(report, targets, emulator.records)
    assert statuses == {"sent": 200}
    assert report.complete
    assert len(emulator.arrivals) == 67  # packs of 3: 66 full ones and one of 2
    assert last_status(journal_outcomes(tmp_path / "j.jsonl")).keys() == set(targets)


@pytest.mark.anyio
@pytest.mark.parametrize("api", ["group", "chatroom"])
async def test_faults_leave_each_target_exactly_one_consistent_outcome(
    api: str, tmp_path: Path
) -> None:
    emulator = lifted_emulator(faults=_FAULTS, seed=7)
    targets = ids(api[0], 400)
    async with emulator_client(emulator) as rc:
        fanout = rc.fanout_group if api == "group" else rc.fanout_chatroom
        report = await fanout(targets, journal=tmp_path / "j.jsonl", keep_results="all", **MESSAGE)
    statuses = check_accounting(report, targets, emulator.records)
    assert statuses["sent"] and statuses["unknown"]  # the faults did happen
    assert statuses["failed"] == 0  # every fault here may have been accepted: none is "failed"
    assert not report.complete
    journal = journal_outcomes(tmp_path / "j.jsonl")
    assert sorted(o.target for o in journal) == sorted(targets)
    assert {o.target: o for o in journal} == {o.target: o for o in report.results}


@pytest.mark.anyio
async def test_429_bursts_are_waited_out_not_failed() -> None:
    emulator = lifted_emulator(faults=Faults(retry_after=0.0), seed=1)
    emulator.force_rate_limit(requests=6)
    targets = ids("g", 30)
    async with emulator_client(emulator) as rc:
        report = await rc.fanout_group(targets, keep_results="all", **MESSAGE)
    assert check_accounting(report, targets, emulator.records) == {"sent": 30}
    assert emulator.stats()["group"].injected_rate_limited == 6


@pytest.mark.anyio
async def test_429s_beyond_the_retry_budget_fail_with_1008_and_are_retryable() -> None:
    emulator = lifted_emulator(faults=Faults(retry_after=0.0))
    emulator.force_rate_limit(requests=2)
    targets = ids("g", 6)
    async with emulator_client(emulator, retry=RetryPolicy(rate_limited=0)) as rc:
        report = await rc.fanout_group(targets, concurrency=1, keep_results="all", **MESSAGE)
    assert check_accounting(report, targets, emulator.records) == {"failed": 6}
    assert all(o.code == 1008 and o.retryable for o in report.results)


@pytest.mark.anyio
async def test_an_async_iterable_of_chatrooms_is_read_lazily() -> None:
    emulator = lifted_emulator()
    read: list[str] = []

    async def rooms() -> AsyncIterator[str]:
        for room in ids("c", 55):
            read.append(room)
            yield room

    async with emulator_client(emulator) as rc:
        report = await rc.fanout_chatroom(rooms(), keep_results="all", **MESSAGE)
    assert check_accounting(report, read, emulator.records) == {"sent": 55}
    assert [arrival.targets for arrival in emulator.arrivals] == [10] * 5 + [5]
