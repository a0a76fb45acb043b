"""Chaos: `rongpub fanout` SIGKILLed at random moments against a faulty server, resumed.

The emulator answers some requests 5xx and resets some connections before or after it
records the message; the CLI runs in real subprocesses, each killed at a random moment
(and, at random, its journal's last outcome line torn as a kill mid-write leaves it), then
resumed; the last run goes to the end. The seed is printed (set RONGPUB_CHAOS_SEED to
replay). What must hold, after each kill and at the end:

- every target has exactly one state (sent, failed or unknown) once the last run ended;
- the emulator accepted no target twice, unless the journal had it unknown when a run
  was started with `--resend-unknown`;
- no target is unknown that never reached the server (only requests that left may be).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from rongpub.emulator import Faults, Server, run_in_thread

from .helpers import Witness, ids, journal_state

pytestmark = pytest.mark.slow

_TARGETS = ids("g", 400)
_KILLS = 6
_FAULTS = Faults(
    latency=(0.005, 0.03), error_rate=0.05, reset_before_rate=0.03, reset_after_rate=0.03
)


@pytest.fixture
def seed() -> int:
    chosen = int(os.environ.get("RONGPUB_CHAOS_SEED", random.randrange(2**32)))
    print(f"chaos seed: {chosen} (RONGPUB_CHAOS_SEED={chosen} replays it)")
    return chosen


@pytest.fixture
def witness(seed: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    emulator = Witness(group_limit=10_000, faults=_FAULTS, seed=seed)
    monkeypatch.setenv("RONGCLOUD_APP_KEY", emulator.app_key)
    monkeypatch.setenv("RONGCLOUD_APP_SECRET", emulator.app_secret)
    with run_in_thread(emulator) as running:
        yield running


class _Chaos:
    def __init__(self, server: Server, folder: Path, rng: random.Random) -> None:
        self.server, self.rng = server, rng
        self.targets, self.journal = folder / "targets.txt", folder / "j.jsonl"
        self.targets.write_text("\n".join(_TARGETS) + "\n")
        self.may_repeat: set[str] = set()  # unknown when a run was asked to resend them
        emulator = server.emulator
        assert isinstance(emulator, Witness)
        self.emulator = emulator

    def start(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "rongpub", "fanout", "group"]
        command += ["--targets", str(self.targets), "--journal", str(self.journal)]
        command += ["--from-user", "sys", "--object-name", "RC:TxtMsg", "--content", '{"c":1}']
        # 40 targets/s with 16 requests allowed in flight: most wait for quota at a kill.
        command += ["--base-url", self.server.url, "--rate-limit", "40", "--concurrency", "16"]
        command += ["--plain"]
        if self.rng.random() < 0.3:
            command.append("--resend-unknown")
            self.may_repeat |= self.unknown()
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def unknown(self) -> set[str]:
        if not self.journal.exists():
            return set()
        return {t for t, state in journal_state(self.journal).items() if state == "unknown"}

    def outcomes(self) -> int:
        return self.journal.read_bytes().count(b'"status"') if self.journal.exists() else 0

    def kill_at_random(self, process: subprocess.Popen[bytes]) -> None:
        before, deadline = self.outcomes(), time.monotonic() + 60
        while self.outcomes() <= before and process.poll() is None:  # it got going
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.005)
        time.sleep(self.rng.uniform(0.0, 0.4))
        process.send_signal(signal.SIGKILL)
        process.communicate()
        time.sleep(0.2)  # what the dead process wrote to its sockets reaches the server

    def maybe_tear(self) -> None:
        """Cut the last line when it is an outcome, as a kill during that write would."""
        content = self.journal.read_bytes()
        last = content.rstrip(b"\n").rsplit(b"\n", 1)[-1]
        if b'"status"' in last and self.rng.random() < 0.8:
            cut = len(content) - len(last) - 1 + self.rng.randrange(1, len(last))
            self.journal.write_bytes(content[:cut])

    def check(self) -> None:
        unknown = self.unknown()
        never_left = unknown - self.emulator.reached.keys()
        assert not never_left, f"unknown but never reached the server: {sorted(never_left)}"
        accepted = Counter(record.target_id for record in self.emulator.records)
        twice = {t for t, count in accepted.items() if count > 1} - self.may_repeat
        assert not twice, f"accepted twice without resend_unknown: {sorted(twice)}"


def test_sigkill_at_random_moments_loses_nothing_and_sends_nothing_twice(
    witness: Server, tmp_path: Path, seed: int
) -> None:
    chaos = _Chaos(witness, tmp_path, random.Random(seed))
    for _ in range(_KILLS):
        chaos.kill_at_random(chaos.start())
        chaos.maybe_tear()
        chaos.check()
    last = chaos.start()
    _, err = last.communicate(timeout=120)
    assert last.returncode in (0, 1), err.decode()
    time.sleep(0.2)
    chaos.check()
    state = journal_state(chaos.journal)
    assert state.keys() == set(_TARGETS)  # every target exactly one final state
    assert set(state.values()) <= {"sent", "failed", "unknown"}
    accepted = Counter(record.target_id for record in chaos.emulator.records)
    assert all(accepted[t] >= 1 for t, s in state.items() if s == "sent")
    assert all(accepted[t] == 0 for t, s in state.items() if s == "failed")
