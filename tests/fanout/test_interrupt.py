"""Ctrl-C twice (#13 case 4): the second stops waiting for requests in flight, and the CLI
still prints the partial report and exits 130 (it used to die in a KeyboardInterrupt
traceback, exit -2). The rate after Ctrl-C leaves out targets dropped unsent."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from rongpub import RongCloud
from rongpub._fanout.report import FanoutReport
from rongpub.emulator import Emulator, Faults, Server, run_in_thread

from .helpers import (
    MESSAGE,
    emulator_client,
    ids,
    journal_state,
    lifted_emulator,
    wait_for_outcomes,
)

_RATE = 60


@pytest.fixture
def slow_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    # Answers take 1 s, inside the 5 s grace: only a second Ctrl-C leaves them unknown.
    emulator = Emulator(group_limit=10_000, faults=Faults(latency=(1.0, 1.0)))
    monkeypatch.setenv("RONGCLOUD_APP_KEY", emulator.app_key)
    monkeypatch.setenv("RONGCLOUD_APP_SECRET", emulator.app_secret)
    with run_in_thread(emulator) as running:
        yield running


@pytest.mark.slow
def test_a_second_ctrl_c_stops_at_once_prints_the_report_and_exits_130(
    slow_server: Server, tmp_path: Path
) -> None:
    targets, journal = tmp_path / "targets.txt", tmp_path / "j.jsonl"
    targets.write_text("\n".join(ids("g", 300)) + "\n")
    command = [sys.executable, "-m", "rongpub", "fanout", "group", "--targets", str(targets)]
    command += ["--from-user", "sys", "--object-name", "RC:TxtMsg", "--content", '{"c":1}']
    command += ["--journal", str(journal), "--base-url", slow_server.url, "--plain"]
    command += ["--rate-limit", str(_RATE)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_outcomes(journal, 30, process)  # a full window, then the quota's pace
        process.send_signal(signal.SIGINT)
        assert process.stderr is not None
        for line in process.stderr:  # the first Ctrl-C was taken: now the second
            if line.startswith("stopping:"):
                break
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert "Traceback" not in err and "stopping now" in err
    report = re.search(r"interrupted: (\d+) sent, (\d+) failed, (\d+) unknown; ([\d.]+)/s", out)
    assert report is not None, out
    sent, failed, unknown, rate = (float(group) for group in report.groups())
    elapsed = float(re.search(r"; ([\d.]+) s\n", out).group(1))  # type: ignore[union-attr]
    assert unknown > 0 and sent + failed + unknown <= 300  # the rest was never taken
    assert rate <= _RATE * (elapsed + 1) / elapsed  # the dropped targets are not counted
    assert set(journal_state(journal).values()) <= {"sent", "failed", "unknown"}
    assert list(journal_state(journal).values()).count("unknown") == unknown


def test_the_rate_leaves_out_targets_dropped_unsent() -> None:
    report = FanoutReport(api="group", quota=20, sent=10, failed=95, unsent=90, elapsed=1.0)
    assert report.rate == 15.0 and report.quota_use == 15 / 40


@pytest.mark.anyio
async def test_stop_now_before_the_run_does_nothing() -> None:
    async with emulator_client(lifted_emulator()) as rc:
        fanout = rc.fanout_group(ids("g", 3), **MESSAGE)
        fanout.stop_now()
        assert (await fanout).sent == 3


@pytest.mark.anyio
async def test_stop_now_during_the_grace_period_leaves_requests_in_flight_unknown() -> None:
    arrived, release = anyio.Event(), anyio.Event()
    requests: list[httpx.Request] = []

    async def held(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if len(requests) == 3:  # every request of the run is in flight
            arrived.set()
        await release.wait()  # answered only after the run ended
        raise AssertionError("not reached")

    http = httpx.AsyncClient(transport=httpx.MockTransport(held))
    async with RongCloud("k", "s", base_urls=["https://api.test"], http_client=http) as rc:
        # interactive: all three requests leave at once (bulk ones are paced 150 ms apart)
        fanout = rc.fanout_group(
            ids("g", 9), concurrency=3, grace=3600, lane="interactive", **MESSAGE
        )
        running = anyio.CancelScope()

        async def run() -> None:
            with running:
                await fanout.run()

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                group.start_soon(run)
                await arrived.wait()
                await anyio.wait_all_tasks_blocked()
                running.cancel()  # the first Ctrl-C: an hour of grace
                await anyio.wait_all_tasks_blocked()
                fanout.stop_now()  # the second: no more waiting
        release.set()
    report = fanout.report
    assert report.done and report.cancelled and report.unknown == 9 and report.sent == 0
