"""A request is journaled as `sending` only once its quota is granted (#13 case 3).

The `sending` line used to be written before the quota wait, so every request queued for
quota when the run was stopped or killed was left unknown although it never left."""

from __future__ import annotations

import signal
import subprocess
import sys
import time as time_module
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import msgspec
import pytest

from rongpub import RateLimits, RongCloud
from rongpub.emulator import Server, run_in_thread

from .helpers import MESSAGE, Witness, ids, journal_state, targets_of, wait_for_outcomes


def _sending_lines(journal: Path) -> list[list[str]]:
    lines = (msgspec.json.decode(raw) for raw in journal.read_bytes().splitlines())
    return [line["sending"] for line in lines if "sending" in line]


@pytest.mark.anyio
async def test_requests_stopped_while_queued_for_quota_are_not_sent_not_unknown(
    tmp_path: Path,
) -> None:
    arrived: list[list[str]] = []
    some_arrived, release = anyio.Event(), anyio.Event()

    async def held(request: httpx.Request) -> httpx.Response:
        arrived.append(targets_of(request.content))
        some_arrived.set()
        await release.wait()  # never answered: cut off at the grace deadline
        raise AssertionError("not reached")

    journal = tmp_path / "j.jsonl"
    http = httpx.AsyncClient(transport=httpx.MockTransport(held))
    limits = RateLimits(group=3)  # one pack of 3 a second: the other requests queue
    async with RongCloud(
        "k", "s", base_urls=["https://api.test"], http_client=http, rate_limits=limits
    ) as rc:
        fanout = rc.fanout_group(
            ids("g", 30), concurrency=6, grace=0, journal=journal, keep_results="all", **MESSAGE
        )
        async with anyio.create_task_group() as group:
            group.start_soon(fanout.run)
            await some_arrived.wait()
            await anyio.wait_all_tasks_blocked()  # five more requests wait for quota
            group.cancel_scope.cancel()
    report = fanout.report
    assert arrived == [["g0", "g1", "g2"]]
    assert _sending_lines(journal) == arrived  # only the request that left
    assert report.unknown == 3 and report.sent == 0
    queued = [o for o in report.results if o.status == "failed"]
    assert len(queued) == report.settled - 3 and all(o.retryable for o in queued)
    unknown = {t for t, status in journal_state(journal).items() if status == "unknown"}
    assert unknown == {"g0", "g1", "g2"}


@pytest.fixture
def witness(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    emulator = Witness(group_limit=10_000)
    monkeypatch.setenv("RONGCLOUD_APP_KEY", emulator.app_key)
    monkeypatch.setenv("RONGCLOUD_APP_SECRET", emulator.app_secret)
    with run_in_thread(emulator) as running:
        yield running


@pytest.mark.slow
def test_a_run_killed_while_requests_wait_for_quota_leaves_only_sent_ones_unknown(
    witness: Server, tmp_path: Path
) -> None:
    targets, journal = tmp_path / "targets.txt", tmp_path / "j.jsonl"
    targets.write_text("\n".join(ids("g", 60)) + "\n")
    command = [sys.executable, "-m", "rongpub", "fanout", "group", "--targets", str(targets)]
    command += ["--from-user", "sys", "--object-name", "RC:TxtMsg", "--content", '{"c":1}']
    command += ["--journal", str(journal), "--base-url", witness.url, "--plain"]
    command += ["--rate-limit", "3", "--concurrency", "8"]  # seven requests queue for quota
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_outcomes(journal, 3, process)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    time_module.sleep(0.3)  # a request the dead process wrote reaches the server
    emulator = witness.emulator
    assert isinstance(emulator, Witness)
    unknown = {t for t, status in journal_state(journal).items() if status == "unknown"}
    assert unknown <= emulator.reached.keys()  # nothing that never left is unknown
    assert len(unknown) <= 6  # at most the request leaving at the kill (old code: ~21)
