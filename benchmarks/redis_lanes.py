"""Lanes across processes: an API's quota wait while a fan-out fills a shared Redis quota.

    python benchmarks/redis_lanes.py [--seconds S] [--tasks N] [--json PATH]

Two processes share one quota through `RedisLimiter` (a private `redis-server`): a fan-out
process keeps `--tasks` bulk sends waiting (1 unit each for groups at 20/s, 10 for chatrooms
at 100/s), an API process asks for one unit at 10% of the quota and times each wait from
`acquire` to `leaving()` returning. No HTTP: each send is `acquire`, `leaving()`, `left()`,
so the figures are the limiter's alone. Each quota runs with lanes on (fan-out "bulk", API
"interactive") and off (both in one lane, the baseline of the same run). Reported: the API's
wait p50/p99, the units left in whole windows (`1 + margin` s) from the first send after the
start-up as a share of what they may hold, and the fullest window of departures (never over
the limit). Then the cost of one booking in Redis with a queue of bulk bookings: the round
trip of an interactive reservation (which moves the queue) beside a bulk one (which does
not), medians of 10.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import RESULTS, machine_info, table, write_json
from redis.asyncio import Redis

from rongpub import Quota
from rongpub._redis.store import RedisStore, quota_keys
from rongpub.redis import RedisLimiter
from rongpub.testing import RedisServer

__all__ = ["main"]

#: (api, limit per second, units per fan-out send).
QUOTAS = [("group", 20, 1), ("chatroom", 100, 10)]
MARGIN = 0.01
STARTUP = 2.0  # seconds the API waits first, so that the fan-out's queue is full


async def _fanout(spec: dict[str, Any]) -> dict[str, Any]:
    quota = Quota(scope=spec["scope"], api=spec["api"], limit=spec["limit"], margin=MARGIN)
    left: list[float] = []
    async with RedisLimiter.from_url(spec["url"]) as limiter:
        stop = time.time() + spec["seconds"]

        async def sender() -> None:
            while time.time() < stop:
                departure = await limiter.acquire(quota, spec["cost"], lane=spec["lane"])
                assert departure is not None
                await departure.leaving()
                left.append(time.time())
                departure.left()

        await asyncio.gather(*(sender() for _ in range(spec["tasks"])))
        moved = limiter.stats.crowded
    return {"left": left, "moved": moved}


async def _api(spec: dict[str, Any]) -> dict[str, Any]:
    quota = Quota(scope=spec["scope"], api=spec["api"], limit=spec["limit"], margin=MARGIN)
    every = 10 / spec["limit"]  # 10% of the quota
    waits: list[float] = []
    left: list[float] = []
    async with RedisLimiter.from_url(spec["url"]) as limiter:
        await asyncio.sleep(STARTUP)
        stop = time.time() + spec["seconds"] - 2 * STARTUP
        while time.time() < stop:
            asked = time.time()
            departure = await limiter.acquire(quota, 1)
            assert departure is not None
            await departure.leaving()
            leaving = time.time()
            departure.left()
            waits.append(leaving - asked)
            left.append(leaving)
            await asyncio.sleep(max(0.0, every - (time.time() - asked)))
    return {"waits": waits, "left": left}


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _run(url: str, api: str, limit: int, cost: int, lanes: bool, options: Any) -> dict[str, Any]:
    base = {"url": url, "scope": uuid.uuid4().hex, "api": api, "limit": limit}
    base["seconds"] = options.seconds
    fanout = {
        **base,
        "cost": cost,
        "tasks": options.tasks,
        "lane": "bulk" if lanes else "interactive",
    }
    command = [sys.executable, __file__, "--child"]
    children = [
        subprocess.Popen([*command, json.dumps(spec)], stdout=subprocess.PIPE, text=True)
        for spec in ({**fanout, "role": "fanout"}, {**base, "role": "api"})
    ]
    made, asked = (json.loads(child.communicate()[0]) for child in children)
    sends = sorted([(t, cost) for t in made["left"]] + [(t, 1) for t in asked["left"]])
    # Whole windows from the first send after the start-up: each holds at most `limit`.
    width = 1.0 + MARGIN
    start = next(t for t, _ in sends if t >= sends[0][0] + STARTUP)
    windows = int((options.seconds - 2 * STARTUP) // width)
    sent = sum(units for t, units in sends if start <= t < start + windows * width)
    fullest = max(sum(u for s, u in sends if end - width < s <= end) for end, _ in sends)
    return {
        "api": api,
        "lanes": "on" if lanes else "off",
        "wait_p50_ms": 1000 * _percentile(asked["waits"], 0.5),
        "wait_p99_ms": 1000 * _percentile(asked["waits"], 0.99),
        "api_sends": len(asked["waits"]),
        "used_percent": 100 * sent / (windows * limit),
        "fullest_window": fullest,
        "limit": limit,
        "bulk_moved": made["moved"],
    }


#: (limit, bulk bookings queued, units each) for the cost of one booking.
QUEUES = [(20, 40, 1), (20, 400, 1), (100, 40, 10), (100, 400, 1), (100, 1000, 1)]


async def _booking_cost(url: str, limit: int, queued: int, cost: int) -> dict[str, Any]:
    client = Redis.from_url(url)
    fanout, api = RedisStore(client), RedisStore(client)
    quota = Quota(scope=uuid.uuid4().hex, api="chatroom", limit=limit)
    keys = quota_keys("bench", quota)

    async def timed(store: RedisStore, lane: Any, units: int) -> float:
        asked = time.perf_counter()
        await store.reserve(keys, quota, store.new_member(units, lane), slack=0.01, notice=0.03)
        return time.perf_counter() - asked

    for _ in range(queued):
        await timed(fanout, "bulk", cost)
    interactive = [await timed(api, "interactive", 1) for _ in range(10)]
    bulk = [await timed(fanout, "bulk", cost) for _ in range(10)]
    await client.aclose()
    return {
        "limit": limit,
        "queued": queued,
        "units": cost,
        "interactive_ms": 1000 * _percentile(interactive, 0.5),
        "bulk_ms": 1000 * _percentile(bulk, 0.5),
    }


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--json", type=Path, default=RESULTS / "redis_lanes.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        spec = json.loads(options.child)
        run = _fanout if spec["role"] == "fanout" else _api
        print(json.dumps(asyncio.run(run(spec))))
        sys.exit(0)
    with RedisServer() as server:
        rows = [
            _run(server.url, api, limit, cost, lanes, options)
            for api, limit, cost in QUOTAS
            for lanes in (True, False)
        ]
        costs = [asyncio.run(_booking_cost(server.url, *queue)) for queue in QUEUES]
    headers = ["api", "lanes", "wait p50 ms", "wait p99 ms", "API sends", "used %", "fullest"]
    keys = ["api", "lanes", "wait_p50_ms", "wait_p99_ms", "api_sends", "used_percent"]
    print(
        table(
            f"Lanes across two processes ({options.tasks} fan-out sends waiting)",
            headers,
            [[row[k] for k in keys] + [f"{row['fullest_window']}/{row['limit']}"] for row in rows],
        )
    )
    print(
        table(
            "One booking with bulk bookings queued (round trip, median of 10)",
            ["limit", "queued", "units", "interactive ms", "bulk ms"],
            [list(row.values()) for row in costs],
        )
    )
    result = {"machine": machine_info(), "seconds": options.seconds, "rows": rows}
    result["booking_cost"] = costs
    write_json(options.json, result)
    return result


if __name__ == "__main__":
    main()
