"""`RedisJournal` across real processes (issue #15): SIGKILL at random moments and resume from
another process in another working directory, two runs at once, a paused holder, a Redis
restart with `appendonly yes`. The emulator (which records every message it accepted)
serves from a thread of the test process; the fan-outs run in `journal_worker.py` or
`python -m rongpub fanout`."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from rongpub.emulator import Emulator, Faults, Server, run_in_thread
from rongpub.testing import RedisServer

from .conftest import running_server

pytestmark = pytest.mark.slow

_ROOT = Path(__file__).resolve().parents[2]
_WORKER = Path(__file__).with_name("journal_worker.py")
_ENV = {**os.environ, "PYTHONPATH": str(_ROOT)}
_COUNT = 600
_TARGETS = [f"g{n}" for n in range(_COUNT)]
_IN_USE, _STOPPED = 3, 4


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    emulator = Emulator(group_limit=100_000, faults=Faults(latency=(0.02, 0.08)), seed=3)
    monkeypatch.setitem(_ENV, "RONGCLOUD_APP_KEY", emulator.app_key)
    monkeypatch.setitem(_ENV, "RONGCLOUD_APP_SECRET", emulator.app_secret)
    with run_in_thread(emulator) as running:
        yield running


def _worker(
    cwd: Path, redis_url: str, name: str, api: Server, *, rate: int = 300, ttl: float = 1.0
) -> subprocess.Popen[str]:
    cwd.mkdir(exist_ok=True)
    argv = [sys.executable, str(_WORKER), redis_url, name, api.url, str(_COUNT), str(rate)]
    return subprocess.Popen(
        [*argv, str(ttl)],
        cwd=cwd,
        env=_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _key(name: str, part: str) -> str:
    return f"rongpub:journal:{{{name}}}:{part}"


def _wait_sent(redis: Redis, name: str, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if int(redis.hlen(_key(name, "sent"))) >= count:
            return
        time.sleep(0.01)
    raise AssertionError(f"not {count} sent (exit {process.poll()}: {process.communicate()})")


def _kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.communicate()


def _finish(cwd: Path, redis_url: str, name: str, api: Server, ttl: float = 1.0) -> str:
    """Run workers until one is let in (the dead holder's lease ran out) and completes."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        process = _worker(cwd, redis_url, name, api, rate=10_000, ttl=ttl)
        out, err = process.communicate(timeout=60)
        if process.returncode != _IN_USE:
            assert process.returncode in (0, 1), out + err
            return out
        assert "in use by pid" in out
        time.sleep(0.1)
    raise AssertionError("the journal was never let go")


def _check_every_target_once(redis: Redis, name: str, emulator: Emulator) -> dict[str, str]:
    """Each target has exactly one final state; none was accepted twice, and a target
    accepted is sent or unknown (was in flight when its run died)."""
    state: dict[str, str] = {}
    for status in ("sent", "failed", "unknown"):
        for raw in redis.hkeys(_key(name, status)):
            target = raw.decode() if isinstance(raw, bytes) else raw
            assert target not in state, target
            state[target] = status
    assert int(redis.hlen(_key(name, "sending"))) == 0
    assert state.keys() == set(_TARGETS)
    delivered = Counter(record.target_id for record in emulator.records)
    for target in _TARGETS:
        if state[target] == "sent":
            assert delivered[target] == 1, target
        else:
            assert state[target] == "unknown" and delivered[target] <= 1, target
    return state


@pytest.mark.parametrize("seed", [1, 2])
def test_killed_at_random_moments_and_resumed_elsewhere(
    api: Server, redis_url: str, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    name = f"kill-{uuid.uuid4().hex}"
    with Redis.from_url(redis_url) as redis:
        for host in ("a", "b"):
            while redis.exists(_key(name, "lease")):  # the killed holder's lease runs out
                time.sleep(0.05)
            process = _worker(tmp_path / host, redis_url, name, api)
            _wait_sent(
                redis, name, int(redis.hlen(_key(name, "sent"))) + rng.randint(20, 200), process
            )
            _kill(process)
        _finish(tmp_path / "c", redis_url, name, api)
        _check_every_target_once(redis, name, api.emulator)


def test_two_runs_at_once_one_is_refused_and_nothing_is_sent_twice(
    api: Server, redis_url: str, tmp_path: Path
) -> None:
    name = f"twice-{uuid.uuid4().hex}"
    first = _worker(tmp_path / "a", redis_url, name, api, ttl=2.0)
    second = _worker(tmp_path / "b", redis_url, name, api, ttl=2.0)
    outputs = [first.communicate(timeout=60), second.communicate(timeout=60)]
    assert sorted([first.returncode, second.returncode]) == [0, _IN_USE], outputs
    delivered = Counter(record.target_id for record in api.emulator.records)
    assert delivered == Counter(_TARGETS)


def test_a_paused_holder_loses_the_lease_and_stops(
    api: Server, redis_url: str, tmp_path: Path
) -> None:
    name = f"pause-{uuid.uuid4().hex}"
    with Redis.from_url(redis_url) as redis:
        holder = _worker(tmp_path / "a", redis_url, name, api, rate=200)
        try:
            _wait_sent(redis, name, 50, holder)
            holder.send_signal(signal.SIGSTOP)  # a long GC pause, a frozen VM
            time.sleep(1.5)  # its 1 s lease runs out
            _finish(tmp_path / "b", redis_url, name, api)
        finally:
            holder.send_signal(signal.SIGCONT)
        out, err = holder.communicate(timeout=60)
        assert holder.returncode == _STOPPED, out + err
        assert "JournalLostError" in out and "lease" in out
        _check_every_target_once(redis, name, api.emulator)


@pytest.mark.parametrize("down", [0.0, 2.5])
def test_a_redis_restart_with_appendonly_loses_nothing(
    api: Server, tmp_path: Path, down: float
) -> None:
    """Back at once, the run goes on (its writes are tried again while its lease lasts);
    down longer than the lease, it stops with `JournalLostError` and a new run resumes."""
    with running_server():  # skips without redis-server
        pass
    server = RedisServer(appendonly=True)  # every change on disk: a restart loses nothing
    server.start()
    name = f"restart-{uuid.uuid4().hex}"
    try:
        with Redis.from_url(server.url) as redis:
            ttl = 1.0 if down else 3.0
            process = _worker(tmp_path / "a", server.url, name, api, rate=200, ttl=ttl)
            _wait_sent(redis, name, 100, process)
            server.stop()  # SIGTERM: the AOF is complete; the same file is loaded again
            time.sleep(down)
            server.start()
            out, err = process.communicate(timeout=60)
            assert process.returncode == (_STOPPED if down else 0), out + err
            if process.returncode == _STOPPED:
                assert "Redis" in out
                _finish(tmp_path / "b", server.url, name, api)
            _check_every_target_once(redis, name, api.emulator)
    finally:
        server.close()


def test_the_cli_resumes_a_killed_run_from_another_directory_within_15_s(
    api: Server, redis_url: str, tmp_path: Path
) -> None:
    name = f"cli-{uuid.uuid4().hex}"
    journal = ["--journal", redis_url, "--journal-name", name]
    message = ["--from-user", "sys", "--object-name", "RC:TxtMsg", "--content", '{"content":"hi"}']

    def cli(cwd: Path, rate: int) -> subprocess.Popen[str]:
        cwd.mkdir()
        (cwd / "targets.txt").write_text("\n".join(_TARGETS) + "\n")
        argv = ["fanout", "group", "--targets", "targets.txt", *message, *journal]
        argv += ["--base-url", api.url, "--rate-limit", str(rate), "--plain"]
        return subprocess.Popen(
            [sys.executable, "-m", "rongpub", *argv],
            cwd=cwd,
            env=_ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    with Redis.from_url(redis_url) as redis:
        process = cli(tmp_path / "a", 100)
        _wait_sent(redis, name, 60, process)
        _kill(process)
        killed = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            process = cli(tmp_path / f"b{attempt}", 10_000)
            out, err = process.communicate(timeout=60)
            if process.returncode != 2:
                break
            assert "is in use by pid" in err  # the dead run's lease (10 s) still holds
        waited = time.monotonic() - killed
        assert process.returncode in (0, 1), out + err
        assert attempt > 1 and waited < 15, waited
        assert f"journal: redis journal '{name}'" in out
        _check_every_target_once(redis, name, api.emulator)
