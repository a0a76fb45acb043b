"""`rongpub fanout` as a real process: killed with SIGKILL and resumed, interrupted with
SIGINT, fed on stdin. The emulator serves on loopback from a thread of the test process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from rongpub._cli.main import main
from rongpub.emulator import Emulator, Faults, Server, run_in_thread

from .helpers import journal_state

pytestmark = pytest.mark.slow

_TARGETS = [f"g{n}" for n in range(300)]
_MESSAGE = ["--from-user", "sys", "--object-name", "RC:TxtMsg", "--content", '{"content":"hi"}']


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    emulator = Emulator(group_limit=10_000, faults=Faults(latency=(0.02, 0.08)), seed=2)
    monkeypatch.setenv("RONGCLOUD_APP_KEY", emulator.app_key)
    monkeypatch.setenv("RONGCLOUD_APP_SECRET", emulator.app_secret)
    with run_in_thread(emulator) as running:
        yield running


def _command(server: Server, targets: str, journal: Path, rate: int) -> list[str]:
    return [
        *("fanout", "group", "--targets", targets, *_MESSAGE, "--journal", str(journal)),
        *("--base-url", server.url, "--rate-limit", str(rate), "--plain"),
    ]


def _start(server: Server, tmp_path: Path, journal: Path) -> subprocess.Popen[str]:
    targets = tmp_path / "targets.txt"
    targets.write_text("\n".join(_TARGETS) + "\n")
    command = [sys.executable, "-m", "rongpub", *_command(server, str(targets), journal, 60)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_outcomes(journal: Path, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if journal.exists() and journal.read_bytes().count(b'"status"') >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"no {count} outcomes in the journal (exit {process.poll()})")


def _resume(server: Server, tmp_path: Path, journal: Path) -> None:
    targets = tmp_path / "targets.txt"
    assert main(_command(server, str(targets), journal, 10_000)) in (0, 1)


def _delivered(server: Server) -> Counter[str]:
    return Counter(record.target_id for record in server.emulator.records)


def test_a_killed_run_resumes_and_delivers_every_target_once(
    server: Server, tmp_path: Path
) -> None:
    journal = tmp_path / "j.jsonl"
    process = _start(server, tmp_path, journal)
    try:
        _wait_for_outcomes(journal, 40, process)
        process.send_signal(signal.SIGKILL)
    finally:
        process.communicate()
    assert process.returncode == -signal.SIGKILL
    time.sleep(0.2)  # requests the dead process had in flight reach the server
    _resume(server, tmp_path, journal)
    final = journal_state(journal)
    assert final.keys() == set(_TARGETS)
    delivered = _delivered(server)
    for target in _TARGETS:
        if final[target] == "unknown":
            assert delivered[target] <= 1, target  # in flight when killed: never resent
        else:
            assert final[target] == "sent" and delivered[target] == 1, target


def test_ctrl_c_settles_the_requests_in_flight_and_prints_the_partial_report(
    server: Server, tmp_path: Path
) -> None:
    journal = tmp_path / "j.jsonl"
    process = _start(server, tmp_path, journal)
    try:
        _wait_for_outcomes(journal, 40, process)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert "group fan-out interrupted:" in out and "stopping" in err
    assert "unknown" not in journal_state(journal).values()  # all settled in time
    _resume(server, tmp_path, journal)
    assert _delivered(server) == Counter(_TARGETS)


def test_targets_can_come_from_stdin(server: Server, tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    command = [sys.executable, "-m", "rongpub", *_command(server, "-", journal, 10_000)]
    done = subprocess.run(
        command,
        input="a\nb\n\nc\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert done.returncode == 0, done.stderr
    assert _delivered(server) == Counter("abc")
