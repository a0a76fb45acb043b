"""redis-server killed, restarted empty and frozen (SIGSTOP) while limiter users send.

Sender processes share one chatroom quota through a private redis-server and send to the
emulator on loopback, which records every arrival. Mid-run the server is killed with SIGKILL
and started again empty (every booking still held is then counted nowhere until its holder
registers it again), then stopped with SIGSTOP for longer than the limiter's timeout and
continued. No one-second window of arrivals at the server may hold more than the limit:
failing closed (the default) with several processes, and with `fallback="local"` in one
process (the local fallback keeps the quota per process: docs/redis-faults.md).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from benchmarks._redis_workers import Workers
from rongpub.emulator import Emulator, run_in_thread
from rongpub.emulator._quota import worst_window
from rongpub.testing import RedisServer

pytestmark = pytest.mark.slow

KEY, SECRET = "fault-app-key", "fault-app-secret"
LIMIT = 30
#: Seconds of arrival jitter absorbed (as in test_redis_processes: busy shared cores).
MARGIN = 0.15
#: Seconds each phase sends; the faults happen within it.
SECONDS = 9.0
#: (seconds after the phase starts, what happens to redis-server)
FAULTS = [(2.0, "kill"), (3.0, "start"), (5.0, "freeze"), (6.5, "thaw")]


def _inflict(server: RedisServer, started: float, done: list[tuple[str, float]]) -> None:
    for at, fault in FAULTS:
        time.sleep(max(0.0, started + at - time.monotonic()))
        getattr(server, fault)()
        done.append((fault, time.time()))


def _crowded(arrivals: list[tuple[float, int]], done: list[tuple[str, float]]) -> str:
    """The windows over the limit, timed from the faults (wall clock), for the failure."""
    over = [(at, sum(n for other, n in arrivals if at <= other < at + 1.0)) for at, _ in arrivals]
    faults = ", ".join(f"{fault} at {when:.3f}" for fault, when in done)
    return f"windows over {LIMIT}: {[(round(a, 3), n) for a, n in over if n > LIMIT]}; {faults}"


def _run_with_faults(server: RedisServer, processes: int, extra: dict[str, Any]) -> int:
    """Send from `processes` workers while the faults happen; check every window and
    return the fullest one's targets."""
    emulator = Emulator({KEY: SECRET}, chatroom_limit=LIMIT, window="sliding")
    with run_in_thread(emulator) as http, Workers(processes, timeout=60) as workers:
        spec: dict[str, Any] = {
            "url": http.url,
            "redis_url": server.url,
            "app_key": KEY,
            "app_secret": SECRET,
            "api": "chatroom",
            "limit": LIMIT,
            "margin": MARGIN,
            "tasks": 6,
            "shared": True,
            "seconds": SECONDS,
            "max_targets": 5,
            "timeout": 0.5,
            "retry_interval": 0.5,
            **extra,
        }
        done: list[tuple[str, float]] = []
        faults = threading.Thread(target=_inflict, args=(server, time.monotonic(), done))
        faults.start()
        try:
            tallies = workers.run(
                [{**spec, "prefix": f"p{n}", "seed": n} for n in range(processes)]
            )
        finally:
            faults.join()
        arrivals = sorted((a.time, a.targets) for a in emulator.arrivals)
    delivered = sum(tally["delivered"] for tally in tallies)
    assert delivered > LIMIT * 3  # the run sent before, between and after the faults
    worst = worst_window(arrivals)
    assert worst <= LIMIT, _crowded(arrivals, done)
    return worst


def test_failing_closed_keeps_every_window_within_the_limit(server: RedisServer) -> None:
    _run_with_faults(server, 3, {})


def test_the_local_fallback_keeps_every_window_within_the_limit(server: RedisServer) -> None:
    _run_with_faults(server, 1, {"fallback": "local"})
