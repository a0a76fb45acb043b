"""A cancelled fan-out stops taking targets, lets requests in flight settle within the grace
period, records every target it took, and can be resumed from its journal."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import anyio
import httpx
import pytest

from rongpub import RongCloud
from rongpub._fanout.engine import Fanout
from rongpub._fanout.report import FanoutReport

from .helpers import MESSAGE, ids, journal_outcomes, last_status


class HeldAPI:
    """Answers publishes (echoing UIDs) only once `release` is set; counts deliveries."""

    def __init__(self, *, hold: bool = True) -> None:
        self.release = anyio.Event()
        if not hold:
            self.release.set()
        self.arrived = 0
        self.delivered: Counter[str] = Counter()
        self.some_arrived = anyio.Event()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.arrived += 1
        self.some_arrived.set()
        await self.release.wait()
        targets = [v for k, v in parse_qsl(request.content.decode()) if k == "toGroupId"]
        self.delivered.update(targets)
        uids = [{"groupId": t, "messageUID": f"UID-{t}"} for t in targets]
        return httpx.Response(200, json={"code": 200, "messageUIDs": uids})

    def client(self) -> RongCloud:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self))
        return RongCloud(
            "key", "secret", base_urls=["https://api.test"], http_client=http, rate_limits=None
        )


async def _cancel_mid_run(api: HeldAPI, fanout: Fanout, *, release: bool) -> None:
    """Run `fanout` until requests are held in flight, then cancel it."""
    async with anyio.create_task_group() as group:
        group.start_soon(fanout.run)
        await api.some_arrived.wait()
        await anyio.wait_all_tasks_blocked()  # every slot holds a request now
        group.cancel_scope.cancel()
        if release:
            api.release.set()


def _accounted(report: FanoutReport) -> None:
    assert report.done and report.cancelled and report.pending == 0
    assert len({o.target for o in report.results}) == len(report.results) == report.settled


@pytest.mark.anyio
async def test_in_flight_requests_settle_within_the_grace_period(tmp_path: Path) -> None:
    api, journal = HeldAPI(), tmp_path / "j.jsonl"
    targets = ids("g", 400)
    async with api.client() as rc:
        fanout = rc.fanout_group(
            iter(targets), concurrency=2, journal=journal, keep_results="all", grace=60, **MESSAGE
        )
        await _cancel_mid_run(api, fanout, release=True)
    report = fanout.report
    _accounted(report)
    assert api.arrived == 2
    assert report.sent == 6  # both requests in flight were answered: sent
    assert report.failed == report.settled - report.sent  # the queued rest: not sent
    assert all(o.retryable for o in report.results if o.status == "failed")
    assert report.settled < len(targets)  # the reader stopped: targets were left untaken
    assert last_status(journal_outcomes(journal)) == {o.target: o for o in report.results}


@pytest.mark.anyio
async def test_requests_unsettled_after_the_grace_period_are_unknown(tmp_path: Path) -> None:
    api = HeldAPI()
    async with api.client() as rc:
        fanout = rc.fanout_group(
            ids("g", 30), concurrency=2, keep_results="all", grace=0, **MESSAGE
        )
        await _cancel_mid_run(api, fanout, release=False)
    report = fanout.report
    _accounted(report)
    assert api.arrived == 2
    assert report.unknown == 6 and report.sent == 0
    assert not api.delivered


@pytest.mark.anyio
@pytest.mark.parametrize("grace", [0, 60])
async def test_a_resumed_run_delivers_the_rest_exactly_once(tmp_path: Path, grace: float) -> None:
    api, journal = HeldAPI(), tmp_path / "j.jsonl"
    targets = ids("g", 200)
    options: dict[str, Any] = {"journal": journal, "keep_results": "all", **MESSAGE}
    async with api.client() as rc:
        first = rc.fanout_group(targets, concurrency=3, grace=grace, **options)
        await _cancel_mid_run(api, first, release=grace > 0)
        api.release.set()
        second = await rc.fanout_group(targets, **options)
    unknown = {o.target for o in first.report.results if o.status == "unknown"}
    assert second.already_unknown == len(unknown)
    assert second.already_sent == first.report.sent
    assert second.sent == len(targets) - first.report.sent - len(unknown)
    assert second.complete is False if unknown else second.complete
    for target in targets:
        assert api.delivered[target] == (0 if target in unknown else 1), target


@pytest.mark.anyio
async def test_resend_unknown_sends_the_unknown_targets_again(tmp_path: Path) -> None:
    api, journal = HeldAPI(), tmp_path / "j.jsonl"
    targets = ids("g", 12)
    async with api.client() as rc:
        first = rc.fanout_group(targets, concurrency=1, grace=0, journal=journal, **MESSAGE)
        await _cancel_mid_run(api, first, release=False)
        api.release.set()
        second = await rc.fanout_group(targets, journal=journal, resend_unknown=True, **MESSAGE)
    assert first.report.unknown == 3
    assert second.complete and second.sent == 12 and second.already_unknown == 0
    assert set(api.delivered.values()) == {1}
