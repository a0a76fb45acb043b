"""Sender processes for the multi-process test and the shared-quota benchmark.

    python -m benchmarks._redis_workers

A worker prints `ready`, then runs one phase per JSON line read on stdin and prints its
tally as one JSON line, until stdin closes: `delivered` and `lost` (targets), `requests`
(finished), `failures` (errors by type), `errors` (a message of each type), `left`
((wall-clock time, targets) as each send left: when its `Departure.leaving()` returned),
`writes` (seconds from `leaving()` returning to the request written, `left()`), `pauses`
(asked for), `redis_calls` (commands sent for the sends that left), of the sends that came
too late for their booking, `moved` (left at once, counted from then) and `rebooked`
(booked again, the quota being paused), `late_writes` (sends written later than the slack,
reported to Redis) and `crowded` (bookings a late send or write moved later). Workers
started together therefore send together, and several phases share one start-up. A phase builds a
`RongCloud` whose limiter is a `RedisLimiter` (with `"shared": false`, the in-process
`SlidingWindowLimiter`). Keys: `url`, `redis_url`, `app_key`, `app_secret`, `api`, `limit`,
`margin`, `tasks`, `shared`, optionally `slack`, `lead`, `share`, `fallback`, `timeout` and
`retry_interval` (RedisLimiter options; `timeout` is also the client's socket timeout)
and `stall` ([seconds, fraction]: that fraction of sends blocks the whole process for that
long between `leaving()` and the write, as a garbage collection or a descheduled process
would), and either
- `sends`: lists of target ids, each sent once, spread over the tasks; or
- `seconds`, `max_targets`, `prefix`, `seed`: each task sends new unique targets (1 to
  `max_targets` a request) until `seconds` have passed; sends cut short are not counted.
"""

from __future__ import annotations

import contextlib
import json
import queue
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
from redis.asyncio import Redis

from rongpub import (
    Limiter,
    LimiterUnavailableError,
    Quota,
    RateLimits,
    RongCloud,
    RongCloudError,
    TextMessage,
)
from rongpub._limit.protocol import Departure
from rongpub._limit.sliding_log import SlidingWindowLimiter
from rongpub.redis import RedisLimiter, RedisStats

__all__ = ["Workers", "main", "run"]

_ROOT = Path(__file__).resolve().parents[1]


class Sender:
    """A client plus its tally of targets delivered and lost."""

    def __init__(self, client: RongCloud, api: str) -> None:
        self.client = client
        self.api = api
        self.delivered = self.lost = self.requests = 0
        self.failures: Counter[str] = Counter()
        self.errors: dict[str, str] = {}  # the first message of each kind
        self.redis_calls: int | None = None
        self.message = TextMessage(content="shared quota")

    async def send(self, targets: list[str]) -> None:
        try:
            if self.api == "group":
                await self.client.publish_group(
                    from_user_id="u1", group_ids=targets, content=self.message
                )
            else:
                await self.client.publish_chatroom(
                    from_user_id="u1", chatroom_ids=targets, content=self.message
                )
        except RongCloudError as exc:
            self.lost += len(targets)
            self.failures[type(exc).__name__] += 1
            self.errors.setdefault(type(exc).__name__, str(exc))
            if isinstance(exc, LimiterUnavailableError):
                await anyio.sleep(0.01)  # failing closed fails at once: do not spin
        else:
            self.delivered += len(targets)
        self.requests += 1

    def tally(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "lost": self.lost,
            "requests": self.requests,
            "failures": dict(self.failures),
            "errors": self.errors,
        }


async def _fixed(sender: Sender, sends: list[list[str]], tasks: int) -> None:
    queue = iter(sends)

    async def task() -> None:
        for targets in queue:
            await sender.send(targets)

    async with anyio.create_task_group() as group:
        for _ in range(tasks):
            group.start_soon(task)


async def _timed(sender: Sender, limiter: Noting, spec: dict[str, Any]) -> None:
    rng = random.Random(spec["seed"])
    numbers = iter(range(10**9))

    async def task() -> None:
        while True:
            size = rng.randint(1, spec["max_targets"])
            await sender.send([f"{spec['prefix']}-{next(numbers)}" for _ in range(size)])

    async with anyio.create_task_group() as group:
        for _ in range(spec["tasks"]):
            group.start_soon(task)
        await anyio.sleep(spec["seconds"])
        # Calls of completed acquisitions: not the bookings still slept on, nor give-backs.
        sender.redis_calls = _Counted.calls - limiter.waiting
        group.cancel_scope.cancel()


class Noting:
    """A limiter that notes when each send left (wall clock) and each pause; `stall`: see
    the module's docstring."""

    def __init__(self, inner: Limiter, stall: tuple[float, float] | None = None) -> None:
        self.inner = inner
        self.stall = stall
        self.rng = random.Random(0)
        self.left: list[tuple[float, int]] = []
        self.writes: list[float] = []  # seconds from leaving() returning to left()
        self.pauses = 0
        self.waiting = 0  # sends acquiring or leaving

    async def acquire(self, quota: Quota, cost: int) -> _Leaving:
        self.waiting += 1
        try:
            departure = await self.inner.acquire(quota, cost)
        except BaseException:
            self.waiting -= 1
            raise
        return _Leaving(self, departure, cost)

    async def pause(self, quota: Quota, seconds: float | None) -> None:
        self.pauses += 1
        await self.inner.pause(quota, seconds)

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Leaving:
    """Passes the client's "bytes leaving now" to the limiter, then notes that instant, and how
    long the request then took to be written (`left()`)."""

    def __init__(self, noting: Noting, inner: Departure | None, cost: int) -> None:
        self._noting: Noting | None = noting
        self._inner, self._cost = inner, cost
        self._leaving: tuple[Noting, float] | None = None

    async def leaving(self) -> None:
        noting, self._noting = self._noting, None
        if noting is None:
            return
        try:
            if self._inner is not None:
                await self._inner.leaving()
        finally:
            noting.waiting -= 1
        noting.left.append((time.time(), self._cost))
        self._leaving = noting, time.monotonic()
        if noting.stall is not None and noting.rng.random() < noting.stall[1]:
            time.sleep(noting.stall[0])  # noqa: ASYNC251 - a stall: blocks every task of the process

    def left(self) -> None:
        if self._leaving is not None:
            noting, since = self._leaving
            noting.writes.append(time.monotonic() - since)
        if self._inner is not None:
            self._inner.left()


class _Counted(Redis):
    """A Redis client that counts the commands it sends (scripts count once)."""

    calls = 0

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        _Counted.calls += 1
        return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Send as `spec` says; the tally."""
    limits = RateLimits(**{spec["api"]: spec["limit"]}, margin=spec["margin"])
    _Counted.calls = 0
    inner: Limiter = SlidingWindowLimiter()
    if spec["shared"]:
        names = ("slack", "lead", "share", "fallback", "timeout", "retry_interval")
        options = {name: spec[name] for name in names if name in spec}
        redis_options = {}
        if "timeout" in spec:  # a hung Redis must be noticed within it
            redis_options = {
                "socket_timeout": spec["timeout"],
                "socket_connect_timeout": spec["timeout"],
            }
        inner = RedisLimiter(_Counted.from_url(spec["redis_url"], **redis_options), **options)
    limiter = Noting(inner, tuple(spec["stall"]) if "stall" in spec else None)
    client = RongCloud(
        spec["app_key"],
        spec["app_secret"],
        base_urls=[spec["url"]],
        rate_limits=limits,
        limiter=limiter,
    )
    sender = Sender(client, spec["api"])
    if "sends" in spec:
        await _fixed(sender, spec["sends"], spec["tasks"])
    else:
        await _timed(sender, limiter, spec)
    await client.aclose()
    await limiter.aclose()
    calls = _Counted.calls if sender.redis_calls is None else sender.redis_calls
    stats = inner.stats if isinstance(inner, RedisLimiter) else RedisStats()
    return {
        **sender.tally(),
        "left": limiter.left,
        "writes": limiter.writes,
        "pauses": limiter.pauses,
        "redis_calls": calls,
        "moved": stats.moved,
        "rebooked": stats.rebooked,
        "late_writes": stats.late_writes,
        "crowded": stats.crowded,
    }


class Workers:
    """`count` worker processes, ready to run phases together; a context manager.

    `timeout`: seconds any one phase (or the start-up) may take before the workers are killed.
    """

    def __init__(self, count: int, *, timeout: float) -> None:
        self.timeout = timeout
        command = [sys.executable, "-m", "benchmarks._redis_workers"]
        self._processes = [
            subprocess.Popen(
                command, cwd=_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
            for _ in range(count)
        ]
        self._lines: list[queue.Queue[str]] = []
        self._pumps: list[threading.Thread] = []
        for process in self._processes:
            self._lines.append(queue.Queue())
            pump = threading.Thread(target=_pump, args=(process, self._lines[-1]), daemon=True)
            pump.start()
            self._pumps.append(pump)
        self._deadline = time.monotonic() + timeout
        for lines in self._lines:
            if self._readline(lines) != "ready":
                self.close()
                raise RuntimeError("a worker failed to start")

    def run(self, specs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Run one phase, spec `i` on worker `i`, all at once; their tallies."""
        for process, spec in zip(self._processes, specs, strict=True):
            assert process.stdin is not None
            process.stdin.write(json.dumps(spec) + "\n")
            process.stdin.flush()
        self._deadline = time.monotonic() + self.timeout
        tallies = [json.loads(self._readline(lines)) for lines in self._lines]
        for lines in self._lines:
            self._readline(lines)  # "ready" for the next phase
        return tallies

    def _readline(self, lines: queue.Queue[str]) -> str:
        try:
            return lines.get(timeout=max(0.0, self._deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError(f"a worker gave no answer within {self.timeout} s") from None

    def close(self) -> None:
        """Close stdin (the workers exit), or kill those still running after 10 s."""
        for process in self._processes:
            with contextlib.suppress(OSError):
                assert process.stdin is not None
                process.stdin.close()
        for process in self._processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for process, pump in zip(self._processes, self._pumps, strict=True):
            pump.join()  # it reads to the end of the output, then the pipe can close
            assert process.stdout is not None
            process.stdout.close()

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _pump(process: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    """Move a worker's output lines to a queue the parent can wait on with a timeout."""
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line.strip())


def main() -> None:
    """Entry point: one phase per line of stdin, one tally per line of stdout."""
    print("ready", flush=True)
    for line in sys.stdin:
        print(json.dumps(anyio.run(run, json.loads(line))), flush=True)
        print("ready", flush=True)


if __name__ == "__main__":
    main()
