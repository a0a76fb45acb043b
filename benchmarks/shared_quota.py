"""Shared quota across processes (Redis): 8 processes x 20 tasks keep one app's quota.

Against rongpub's emulator in its own process (the real quotas, group 20/s and chatroom
100/s, counted in a strict sliding 1 s window, 429/1008 over quota, every answer delayed a
uniform 50-300 ms, as in quota_fidelity) and a redis-server of its own on loopback. Per API,
three configurations in the same run, with the same sender processes:

- redis: every process's `RongCloud` uses `RedisLimiter` (one quota shared through Redis);
- one process: all the tasks in one process with the in-process limiter (what sharing
  should match; it also shows how much this machine's jitter alone costs);
- local: every process keeps the quota alone with the in-process limiter (no sharing).

Each task sends new unique targets (1-3 groups, 1-10 chatrooms a request) for `--duration`
seconds; all start at once. Per row: requests, 429s (per 1,000 requests; bar: at most 1;
also counted after the first 2 s, when every process opens its connections at once), the
share of the quota accepted in the steady part (goal: at least 95%), targets lost (must be
0), targets recorded twice (must be 0), the worst 1 s window of targets that arrived (and
after the first 2 s), the tightest span holding limit + 1 targets as they arrived at the
server and as they left the clients (when the limiter's `Departure.leaving()` returned, just
before the request's bytes were written; above 1000 ms: no 1 s window over the limit), the
slowest write (from `leaving()` returning to the whole request written) and how many took
longer than slack + margin (such a stall can squeeze a window at the server), Redis
commands sent per send, sends that came too late for their booking (per 1,000 sends):
counted from when they left, or booked again (while the quota was paused), writes later
than the slack (reported to Redis) and the bookings late sends and writes moved later (per
1,000). `--stall-ms` makes such stalls on purpose: that share of sends blocks its process between
`leaving()` and the write, as a garbage collection would.

    python benchmarks/shared_quota.py [--duration 30] [--quick] [--processes 8] [--tasks 20]
                                      [--slack S] [--lead S] [--share N] [--json PATH]
                                      [--stall-ms MS] [--stall-rate FRACTION]
                                      [--limiters redis,one process,local]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _quota_clients as clients
from _measure import RESULTS, table, write_json
from _redis_workers import Workers
from quota_fidelity import APIS, LATENCY, figures

from rongpub._constants import DEFAULT_WINDOW_MARGIN
from rongpub.emulator import EmulatorProcess, Faults, start_in_subprocess
from rongpub.emulator._quota import worst_window
from rongpub.redis import DEFAULT_SLACK
from rongpub.testing import RedisServer

__all__ = ["main", "measure"]

KEY, SECRET = "shared-bench-key", "shared-bench-secret"
#: Configuration: (limiter shared through Redis, tasks spread over every process).
CONFIGS = {"redis": (True, True), "one process": (False, False), "local": (False, True)}
#: Seconds at the start of a run when every process opens its connections at once.
STARTUP = 2.0


def _phase(
    workers: Workers,
    server: EmulatorProcess,
    redis_url: str,
    api: str,
    config: str,
    options: argparse.Namespace,
) -> tuple[list[dict[str, Any]], list[Any], Counter[str]]:
    limit, most = APIS[api]
    base = {
        "url": server.url,
        "redis_url": redis_url,
        "app_key": KEY,
        "app_secret": SECRET,
        "api": api,
        "limit": limit,
        "margin": options.margin,
        "tasks": options.tasks,
        "shared": CONFIGS[config][0],
        "seconds": options.seconds,
        "max_targets": most,
        **{
            name: value
            for name in ("slack", "lead", "share")
            if (value := getattr(options, name)) is not None
        },
        **({"stall": [options.stall_ms / 1000, options.stall_rate]} if options.stall_ms else {}),
    }
    everyone = options.tasks * options.processes
    tasks = [options.tasks] * options.processes if CONFIGS[config][1] else [everyone]
    tasks += [0] * (options.processes - len(tasks))  # idle workers sleep the phase out
    specs = [
        {**base, "tasks": count, "prefix": f"{api}-{config}-{index}", "seed": index}
        for index, count in enumerate(tasks)
    ]
    tallies = workers.run(specs)
    time.sleep(0.5)  # answers still on their way are not arrivals
    arrivals = sorted((a for a in server.arrivals() if a.api == api), key=lambda a: a.time)
    recorded = Counter(record.target_id for record in server.messages())
    return tallies, arrivals, recorded


def _row(
    api: str,
    config: str,
    tallies: list[dict[str, Any]],
    arrivals: list[Any],
    recorded: Counter[str],
    options: argparse.Namespace,
) -> dict[str, Any]:
    limit, seconds = APIS[api][0], options.seconds
    guard = options.margin + (DEFAULT_SLACK if options.slack is None else options.slack)
    writes = [w for t in tallies for w in t["writes"]]
    tally = clients.Tally(
        delivered=sum(t["delivered"] for t in tallies),
        lost=sum(t["lost"] for t in tallies),
        left=sorted((moment, cost) for t in tallies for moment, cost in t["left"]),
    )
    for entry in tallies:
        for kind, count in entry["failures"].items():
            tally.failures[kind] = tally.failures.get(kind, 0) + count
    entry = figures(arrivals, tally, limit, seconds)
    start = arrivals[0].time if arrivals else 0.0
    steady = [a for a in arrivals if a.time >= start + STARTUP]
    entry.update(
        duplicates=sum(1 for count in recorded.values() if count > 1),
        pauses=sum(t["pauses"] for t in tallies),
        steady_rate_limited=sum(a.outcome == "rate_limited" for a in steady),
        steady_requests=len(steady),
        steady_worst_window=worst_window([(a.time, a.targets) for a in steady]),
        slowest_write_ms=1000 * max(writes, default=0.0),
        slow_writes=sum(w > guard for w in writes),
    )
    # Counted by the Redis limiter only.
    for name in ("redis_calls", "moved", "rebooked", "late_writes", "crowded"):
        entry[name] = sum(t[name] for t in tallies) if CONFIGS[config][0] else None
    sends = len(tally.left)
    entry["calls_per_send"] = entry["redis_calls"] / sends if entry["redis_calls"] else None
    for late in ("moved", "rebooked", "crowded"):
        count = entry[late]
        entry[f"{late}_per_1000"] = None if count is None or not sends else 1000 * count / sends
    return {"api": api, "config": config, **entry}


def measure(options: argparse.Namespace) -> dict[str, Any]:
    """Every API and configuration; the JSON section (also printed as a table)."""
    result: dict[str, Any] = {
        "seconds": options.seconds,
        "processes": options.processes,
        "tasks": options.tasks,
        "latency": list(LATENCY),
        "margin": options.margin,
        "slack": options.slack,
        "lead": options.lead,
        "share": options.share,
        "stall_ms": options.stall_ms,
        "stall_rate": options.stall_rate,
        "startup": STARTUP,
        "rows": [],
    }
    store = RedisServer()
    store.start()
    faults = Faults(latency=LATENCY)
    try:
        with (
            start_in_subprocess(app_key=KEY, app_secret=SECRET, faults=faults) as server,
            Workers(options.processes, timeout=options.seconds + 120) as workers,
        ):
            for api in APIS:
                for config in options.limiters:
                    server.reset()
                    phase = _phase(workers, server, store.url, api, config, options)
                    result["rows"].append(_row(api, config, *phase, options))
    finally:
        store.close()
    _print(result)
    return result


COLUMNS = {
    "api": "api",
    "config": "limiter",
    "limit": "limit/s",
    "requests": "requests",
    "rate_limited": "429s",
    "per_1000": "429s/1000",
    "steady_rate_limited": "429s after start-up",
    "quota_used": "quota used",
    "targets_lost": "lost",
    "duplicates": "twice",
    "worst_window_arrived": "worst 1s",
    "steady_worst_window": "worst 1s after start-up",
    "tightest_arrived_ms": "tightest server ms",
    "tightest_left_ms": "tightest client ms",
    "slowest_write_ms": "slowest write ms",
    "slow_writes": "writes > slack+margin",
    "calls_per_send": "Redis calls/send",
    "moved_per_1000": "late, counted from leaving/1000 sends",
    "rebooked_per_1000": "late, re-booked/1000",
    "late_writes": "late writes",
    "crowded_per_1000": "moved by late sends/1000",
}


def _print(result: dict[str, Any]) -> None:
    rows = [[row[column] for column in COLUMNS] for row in result["rows"]]
    title = (
        f"{result['processes']} processes x {result['tasks']} tasks, {result['seconds']:g} s "
        f"per API and limiter, margin {result['margin']:g} s, strict sliding window, "
        "answers after 50-300 ms"
    )
    print(table(title, list(COLUMNS.values()), rows) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per run (30)")
    parser.add_argument("--quick", action="store_true", help="4 s per run")
    parser.add_argument("--processes", type=int, default=8, help="sender processes (8)")
    parser.add_argument("--tasks", type=int, default=20, help="tasks per process (20)")
    parser.add_argument(
        "--margin",
        type=float,
        default=DEFAULT_WINDOW_MARGIN,
        help=f"the window margin, seconds ({DEFAULT_WINDOW_MARGIN})",
    )
    parser.add_argument(
        "--slack", type=float, default=None, help="RedisLimiter slack, seconds (its default)"
    )
    parser.add_argument(
        "--lead", type=float, default=None, help="RedisLimiter lead, seconds (its default)"
    )
    parser.add_argument(
        "--share", type=int, default=None, help="RedisLimiter share, bookings (its default)"
    )
    parser.add_argument(
        "--stall-ms",
        type=float,
        default=0.0,
        help="block a sender process this long between leaving() and the write (0: never)",
    )
    parser.add_argument(
        "--stall-rate", type=float, default=0.01, help="share of sends that stall (0.01)"
    )
    parser.add_argument(
        "--limiters",
        type=lambda text: text.split(","),
        default=list(CONFIGS),
        help=f"which configurations, comma-separated ({','.join(CONFIGS)})",
    )
    parser.add_argument("--json", type=Path, default=RESULTS / "shared_quota.json")
    options = parser.parse_args(argv)
    options.seconds = 4.0 if options.quick else options.duration
    write_json(options.json, measure(options))


if __name__ == "__main__":
    main()
