"""Shared checks for the fan-out tests: a client on an in-process emulator, and accounting."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import msgspec

from rongpub import RongCloud
from rongpub._fanout.outcomes import TargetOutcome
from rongpub._fanout.report import FanoutReport
from rongpub.emulator import Emulator, EmulatorApp, Faults, Record
from rongpub.emulator._wire import Reply

#: The message of most tests: keyword arguments of `fanout_group` / `fanout_chatroom`.
MESSAGE: dict[str, Any] = {
    "from_user_id": "sys",
    "object_name": "RC:TxtMsg",
    "content": {"content": "hi"},
}


def emulator_client(emulator: Emulator, **options: Any) -> RongCloud:
    """A client reaching `emulator` in-process (ASGI); `options` as `RongCloud`'s."""
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=EmulatorApp(emulator)))
    options.setdefault("rate_limits", None)
    options.setdefault("app_secret", emulator.app_secret)
    return RongCloud(
        emulator.app_key,
        base_urls=["http://emulator.test"],
        http_client=http,
        **options,
    )


def lifted_emulator(**options: Any) -> Emulator:
    """An emulator whose quotas are far above what a test sends (faults are under test)."""
    lifted = 100_000
    return Emulator(
        group_limit=lifted,
        chatroom_limit=lifted,
        private_limit=lifted,
        system_limit=lifted,
        broadcast_limit=lifted,
        **options,
    )


def ids(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{index}" for index in range(count)]


def journal_outcomes(path: Path) -> list[TargetOutcome]:
    """The outcome lines of a journal (headers left out), in order."""
    lines = path.read_bytes().splitlines()
    return [msgspec.json.decode(line, type=TargetOutcome) for line in lines if b'"target"' in line]


def last_status(outcomes: Iterable[TargetOutcome]) -> dict[str, TargetOutcome]:
    """Each target's last outcome (what a resume goes by)."""
    return {outcome.target: outcome for outcome in outcomes}


def journal_state(path: Path) -> dict[str, str]:
    """Each target's state as a resume sees it: its last outcome, or "unknown" when a
    request to it was sent and its run ended before the answer was written (a torn last
    line is left out)."""
    state: dict[str, str] = {}
    unanswered: dict[str, set[str]] = {}

    def end_run() -> None:
        for targets in unanswered.values():
            state.update(dict.fromkeys(targets, "unknown"))
        unanswered.clear()

    for raw in path.read_bytes().splitlines():
        try:
            line = msgspec.json.decode(raw)
        except msgspec.DecodeError:  # a torn last line (a resume cuts it off)
            break
        if "rongpub_fanout" in line:
            end_run()
        elif "sending" in line:
            unanswered[line["request_id"]] = set(line["sending"])
        else:
            state[line["target"]] = line["status"]
            unanswered.get(line.get("request_id", ""), set()).discard(line["target"])
    end_run()
    return state


def check_accounting(
    report: FanoutReport, targets: Sequence[str], records: Sequence[Record]
) -> Counter[str]:
    """Every target has exactly one outcome, consistent with what the server recorded:
    sent ones were received once with the UID reported, failed ones never, unknown ones at
    most once. Returns the statuses counted."""
    outcomes = report.results
    assert sorted(o.target for o in outcomes) == sorted(targets)
    received = Counter(record.target_id for record in records)
    uids = {record.target_id: record.message_uid for record in records}
    for outcome in outcomes:
        count = received[outcome.target]
        if outcome.status == "sent":
            assert count == 1, outcome
            assert outcome.message_uid == uids[outcome.target]
        elif outcome.status == "failed":
            assert count == 0, outcome
        else:
            assert count <= 1, outcome
    statuses: Counter[str] = Counter(o.status for o in outcomes)
    assert (report.sent, report.failed, report.unknown) == (
        statuses["sent"],
        statuses["failed"],
        statuses["unknown"],
    )
    assert report.pending == 0
    return statuses


def targets_of(body: bytes) -> list[str]:
    """The group ids of a publish request's form body."""
    return [value for key, value in parse_qsl(body.decode()) if key == "toGroupId"]


class Witness(Emulator):
    """An emulator that also notes the group ids of every publish that reached it, whatever
    it answered (a 5xx, a reset): what left the client, as opposed to what was recorded."""

    def __init__(
        self, *, group_limit: int, faults: Faults | None = None, seed: int | None = None
    ) -> None:
        super().__init__(group_limit=group_limit, faults=faults, seed=seed)
        self.reached: Counter[str] = Counter()

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        self.reached.update(targets_of(body))
        return super().handle(method, target, headers, body)


def wait_for_outcomes(journal: Path, count: int, process: subprocess.Popen[Any]) -> None:
    """Wait until `journal` holds `count` outcome lines while `process` runs (at most 60 s)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if journal.exists() and journal.read_bytes().count(b'"status"') >= count:
            return
        time.sleep(0.01)
    raise AssertionError(f"no {count} outcomes in the journal (exit {process.poll()})")
