"""One writer per journal (#13 case 2): a second run fails at once and sends nothing.

Two runs on one journal used to both send everything either had not finished."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest

from rongpub import JournalInUseError, RongCloudError
from rongpub._fanout import lock as journal_lock
from rongpub._fanout.journal import Journal, fingerprint
from rongpub._fanout.lock import JournalLock
from rongpub._request import group_template
from rongpub.emulator import Emulator, Faults, Server, run_in_thread

from .helpers import (
    MESSAGE,
    emulator_client,
    ids,
    journal_state,
    lifted_emulator,
    wait_for_outcomes,
)

_TARGETS = ids("g", 30)


async def _gated(targets: list[str], started: anyio.Event, gate: anyio.Event) -> AsyncIterator[str]:
    """`targets`: the first, then `started` is set; the rest once `gate` is set."""
    yield targets[0]
    started.set()
    await gate.wait()
    for target in targets[1:]:
        yield target


@pytest.mark.anyio
async def test_a_second_run_on_a_journal_in_use_raises_and_sends_nothing(tmp_path: Path) -> None:
    journal, started, gate = tmp_path / "j.jsonl", anyio.Event(), anyio.Event()
    emulator = lifted_emulator()
    async with emulator_client(emulator) as rc, anyio.create_task_group() as group:
        first = rc.fanout_group(_gated(_TARGETS, started, gate), journal=journal, **MESSAGE)
        group.start_soon(first.run)
        with anyio.fail_after(10):
            await started.wait()  # the first run holds the journal: it reads the targets
        second = rc.fanout_group(_TARGETS, journal=journal, **MESSAGE)
        with pytest.raises(JournalInUseError) as caught:
            await second
        gate.set()
    error = caught.value
    assert isinstance(error, RongCloudError)
    assert error.journal == str(journal) and error.pid == os.getpid()
    assert error.host == socket.gethostname() and error.started is not None
    assert f"pid {os.getpid()} on {socket.gethostname()}" in str(error)
    assert first.report.sent == 30 and second.report.taken == 0
    assert Counter(record.target_id for record in emulator.records) == Counter(_TARGETS)
    async with emulator_client(emulator) as rc:  # the lock went with the first run
        assert (await rc.fanout_group(_TARGETS, journal=journal, **MESSAGE)).already_sent == 30


def test_the_lock_is_released_on_close_and_on_a_refused_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(b"not a journal\n")
    journal = Journal(path, "group", fingerprint(group_template(**MESSAGE)))
    with pytest.raises(ValueError, match="not valid JSON"):
        journal.open(resend_unknown=False)
    journal.close()
    lock = JournalLock(path)
    lock.acquire()
    with pytest.raises(JournalInUseError):
        JournalLock(path).acquire()
    lock.release()
    lock.release()
    assert not lock.path.exists()  # nothing left next to the journal
    again = JournalLock(path)
    again.acquire()
    again.release()


def test_a_holder_not_yet_written_down_is_named_generically(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    lock = JournalLock(path)
    lock.acquire()
    lock.path.write_bytes(b"")  # as between the holder's flock and its write
    with pytest.raises(JournalInUseError, match="in use by another fan-out run") as caught:
        JournalLock(path).acquire()
    assert caught.value.pid is None
    lock.release()


def test_a_lock_file_removed_by_its_last_holder_while_it_was_locked_is_taken_anew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.jsonl"
    lock, locks = JournalLock(path), list[int]()
    real = journal_lock._try_lock

    def late(fd: int) -> bool:  # the last holder removes the file between open and flock
        if not locks:
            lock.path.unlink()
        locks.append(fd)
        return real(fd)

    monkeypatch.setattr(journal_lock, "_try_lock", late)
    lock.acquire()
    assert len(locks) == 2 and lock.path.exists()  # the removed file was left for a new one
    with pytest.raises(JournalInUseError):
        JournalLock(path).acquire()
    lock.release()


_MESSAGE_ARGS = ["--from-user", "sys", "--object-name", "RC:TxtMsg", "--content", '{"c":1}']


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    emulator = Emulator(group_limit=10_000, faults=Faults(latency=(0.01, 0.03)), seed=3)
    monkeypatch.setenv("RONGCLOUD_APP_KEY", emulator.app_key)
    monkeypatch.setenv("RONGCLOUD_APP_SECRET", emulator.app_secret)
    with run_in_thread(emulator) as running:
        yield running


def _cli(server: Server, targets: Path, journal: Path, rate: int) -> list[str]:
    return [
        *(sys.executable, "-m", "rongpub", "fanout", "group", "--targets", str(targets)),
        *(*_MESSAGE_ARGS, "--journal", str(journal), "--base-url", server.url),
        *("--rate-limit", str(rate), "--plain"),
    ]


@pytest.mark.slow
def test_two_processes_on_one_journal_the_second_exits_2_naming_the_holder(
    server: Server, tmp_path: Path
) -> None:
    targets, journal = tmp_path / "targets.txt", tmp_path / "j.jsonl"
    everyone = ids("g", 200)
    targets.write_text("\n".join(everyone) + "\n")
    first = subprocess.Popen(
        _cli(server, targets, journal, 50), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        wait_for_outcomes(journal, 20, first)
        second = subprocess.run(
            _cli(server, targets, journal, 10_000), capture_output=True, text=True, timeout=60
        )
        assert first.poll() is None  # the first was still running all along
        first.send_signal(signal.SIGKILL)
    finally:
        first.communicate()
    assert second.returncode == 2, second.stderr
    assert f"journal {journal} is in use by pid {first.pid}" in second.stderr
    assert second.stdout == ""  # no report: it never started
    sent_by_first = Counter(record.target_id for record in server.emulator.records)
    assert max(sent_by_first.values()) == 1  # the second sent nothing
    resumed = subprocess.run(  # SIGKILL released the lock with the process
        _cli(server, targets, journal, 10_000), capture_output=True, text=True, timeout=60
    )
    assert resumed.returncode in (0, 1), resumed.stderr
    delivered = Counter(record.target_id for record in server.emulator.records)
    state = journal_state(journal)
    assert state.keys() == set(everyone)
    for target in everyone:
        assert delivered[target] == 1 or (state[target] == "unknown" and delivered[target] < 2)
