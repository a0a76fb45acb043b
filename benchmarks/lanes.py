"""Lanes: interactive sends' quota wait while a fan-out fills the quota, lanes on and off.

    python benchmarks/lanes.py [--quick] [--seconds S] [--json PATH]

Against the emulator (sliding window, every answer 50-300 ms late): a fan-out saturating the
quota (`rc.fanout`, one group or ten chatrooms a request) while an API sends one target at 10%
of the quota (`rc.publish`). In one process (the in-process limiter) and in two processes
sharing a `RedisLimiter` (a private `redis-server`). Lanes on: the fan-out is "bulk" (its
default) and the API "interactive"; off: both "interactive", the baseline of the same run.
Reported: the API's quota wait (from `acquire` to the limiter letting the bytes go) p50/p99,
the fan-out's accepted targets per second, the quota used in whole windows after the start-up
(`1 + margin` s each, accepted targets as the server counted them), the server's 429s and
targets lost (neither accepted nor failed). Then `max_wait=0.2` behind a queue many seconds
long (lanes off, so the API waits behind the fan-out): how long the refusal takes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import RESULTS, machine_info, table, write_json

from rongpub import (
    ChatroomMessage,
    GroupMessage,
    Lane,
    Quota,
    QuotaWaitTooLongError,
    RateLimits,
    RongCloud,
    SlidingWindowLimiter,
    TextMessage,
)
from rongpub.emulator import Faults, start_in_subprocess
from rongpub.redis import RedisLimiter
from rongpub.testing import RedisServer

__all__ = ["main"]

#: (api, limit per second, targets per fan-out request).
QUOTAS = [("group", 20, 1), ("chatroom", 100, 10)]
LATENCY = (0.05, 0.3)
MARGIN = 0.01
STARTUP = 2.0  # seconds before the API starts and the windows are counted
_API = contextvars.ContextVar("api", default=False)


class Timed:
    """A limiter timing the API's waits: from `acquire` until `leaving()` lets it go."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.waits: list[float] = []

    async def acquire(
        self, quota: Quota, cost: int, *, lane: Lane = "interactive", max_wait: float | None = None
    ) -> Any:
        asked = time.perf_counter()
        departure = await self.inner.acquire(quota, cost, lane=lane, max_wait=max_wait)
        if not _API.get():
            return departure
        waits = self.waits

        class Leaving:
            async def leaving(self) -> None:
                await departure.leaving()
                waits.append(time.perf_counter() - asked)

            def left(self) -> None:
                departure.left()

        return Leaving()

    async def pause(self, quota: Quota, seconds: float | None) -> None:
        await self.inner.pause(quota, seconds)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _message(api: str) -> GroupMessage | ChatroomMessage:
    content = TextMessage(content="lanes")
    if api == "group":
        return GroupMessage(from_user_id="bench", content=content)
    return ChatroomMessage(from_user_id="bench", content=content)


async def _targets(stop: float) -> AsyncIterator[str]:
    index = 0
    while time.time() < stop:
        index += 1
        yield f"t{index}"
        if index % 64 == 0:
            await asyncio.sleep(0)


async def _fanout(rc: RongCloud, spec: dict[str, Any]) -> dict[str, Any]:
    message = _message(spec["api"])
    lane = "bulk" if spec["lanes"] else "interactive"
    started = time.time()
    report = await rc.fanout(
        message,
        _targets(spec["stop"]),
        pack_size=spec["pack"],
        lane=lane,
        concurrency=spec.get("concurrency"),
    )
    seconds = time.time() - started
    return {"sent": report.sent, "failed": report.failed, "unknown": report.unknown,
            "rate": report.sent / seconds}  # fmt: skip


async def _api(rc: RongCloud, spec: dict[str, Any]) -> dict[str, Any]:
    _API.set(True)
    message = _message(spec["api"])
    every = 10 / spec["limit"]
    await asyncio.sleep(STARTUP)
    sent = refused = 0
    sends: list[asyncio.Task[Any]] = []
    due = time.time()
    while due < spec["stop"] - 1.0:  # arrivals on a fixed schedule, not after each answer
        sends.append(asyncio.create_task(rc.publish(message, to=[f"api{sent}"])))
        sent += 1
        due += every
        await asyncio.sleep(max(0.0, due - time.time()))
    await asyncio.gather(*sends)
    refusals: list[float] = []
    for index in range(spec.get("max_wait_probes", 0)):
        asked = time.perf_counter()
        try:
            await rc.publish(message, to=[f"probe{index}"], max_wait=0.2)
        except QuotaWaitTooLongError:
            refused += 1
        refusals.append(time.perf_counter() - asked)
    return {"sent": sent, "refused": refused, "refusals": refusals}


async def _child(spec: dict[str, Any]) -> dict[str, Any]:
    if spec["redis"] is None:
        timed = Timed(SlidingWindowLimiter())
    else:
        timed = Timed(RedisLimiter.from_url(spec["redis"]))
    rc = RongCloud(
        spec["key"],
        spec["secret"],
        base_urls=[spec["url"]],
        rate_limits=RateLimits(margin=MARGIN),
        limiter=timed,
    )
    async with rc:
        jobs = []
        if "fanout" in spec["roles"]:
            jobs.append(_fanout(rc, spec))
        if "api" in spec["roles"]:
            jobs.append(_api(rc, spec))
        done = await asyncio.gather(*jobs)
    await timed.aclose()
    out: dict[str, Any] = {"waits": timed.waits}
    for role, result in zip(spec["roles"], done, strict=True):
        out[role] = result
    return out


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _spawn(spec: dict[str, Any]) -> subprocess.Popen[str]:
    command = [sys.executable, __file__, "--child", json.dumps(spec)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def _scenario(
    server: Any, redis: str | None, api: str, limit: int, pack: int, lanes: bool, seconds: float
) -> dict[str, Any]:
    server.reset()
    spec = {"url": server.url, "key": server.app_key, "secret": server.app_secret,
            "redis": redis, "api": api, "limit": limit, "pack": pack, "lanes": lanes,
            "stop": time.time() + seconds + 1.0}  # fmt: skip
    if redis is None:
        children = [_spawn({**spec, "roles": ["fanout", "api"]})]
    else:
        children = [_spawn({**spec, "roles": ["fanout"]}), _spawn({**spec, "roles": ["api"]})]
    outs = [json.loads(child.communicate()[0]) for child in children]
    time.sleep(0.5)  # the last answers
    merged: dict[str, Any] = {"waits": []}
    for out in outs:
        merged["waits"] += out.pop("waits")
        merged.update(out)
    arrivals = sorted((a for a in server.arrivals() if a.api == api), key=lambda a: a.time)
    accepted = [(a.time, a.targets) for a in arrivals if a.outcome == "accepted"]
    width = 1.0 + MARGIN
    start = accepted[0][0] + STARTUP if accepted else 0.0
    windows = max(1, int((accepted[-1][0] - start) // width)) if accepted else 1
    used = sum(n for t, n in accepted if start <= t < start + windows * width)
    fanout, asked = merged["fanout"], merged["api"]
    waits = merged["waits"]
    return {
        "processes": 1 if redis is None else 2,
        "api": api,
        "lanes": "on" if lanes else "off",
        "wait_p50_ms": None if not waits else 1000 * (_percentile(waits, 0.5) or 0.0),
        "wait_p99_ms": None if not waits else 1000 * (_percentile(waits, 0.99) or 0.0),
        "api_sends": asked["sent"],
        "fanout_per_s": fanout["rate"],
        "used_percent": 100 * used / (windows * limit),
        "rate_limited": sum(a.outcome == "rate_limited" for a in arrivals),
        "lost": fanout["unknown"] + fanout["failed"],
        "limit": limit,
    }


def _max_wait(server: Any, seconds: float) -> dict[str, Any]:
    """`max_wait=0.2` behind a queue of 200 fan-out requests (10 s at 20/s), lanes off."""
    server.reset()
    spec = {"url": server.url, "key": server.app_key, "secret": server.app_secret,
            "redis": None, "api": "group", "limit": 20, "pack": 1, "lanes": False,
            "concurrency": 200, "max_wait_probes": 20,
            "stop": time.time() + seconds + 1.0}  # fmt: skip
    out = json.loads(_spawn({**spec, "roles": ["fanout", "api"]}).communicate()[0])
    refusals = out["api"]["refusals"]
    return {
        "queue_requests": 200,
        "probes": len(refusals),
        "refused": out["api"]["refused"],
        "answer_p50_ms": 1000 * (_percentile(refusals, 0.5) or 0.0),
        "answer_max_ms": 1000 * max(refusals, default=0.0),
    }


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="6 s per scenario")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--json", type=Path, default=RESULTS / "lanes.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(asyncio.run(_child(json.loads(options.child)))))
        sys.exit(0)
    seconds = options.seconds or (6.0 if options.quick else 20.0)
    rows = []
    with (
        RedisServer() as redis,
        start_in_subprocess(faults=Faults(latency=LATENCY), seed=7) as server,
    ):
        for url in (None, redis.url):
            for api, limit, pack in QUOTAS:
                for lanes in (True, False):
                    rows.append(_scenario(server, url, api, limit, pack, lanes, seconds))
        probe = _max_wait(server, max(seconds / 2, 5.0))
    keys = ["processes", "api", "lanes", "wait_p50_ms", "wait_p99_ms", "api_sends",
            "fanout_per_s", "used_percent", "rate_limited", "lost"]  # fmt: skip
    print(table(f"Lanes: API quota wait beside a fan-out ({seconds:g} s each)", keys,
                [[row[k] for k in keys] for row in rows]))  # fmt: skip
    print(table("max_wait=0.2 behind a queue of 200 requests", list(probe), [list(probe.values())]))
    result = {"machine": machine_info(), "seconds": seconds, "latency": list(LATENCY),
              "rows": rows, "max_wait": probe}  # fmt: skip
    write_json(options.json, result)
    return result


if __name__ == "__main__":
    main()
