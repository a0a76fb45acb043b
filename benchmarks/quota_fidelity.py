"""Suite 1: quota fidelity. rongpub beside the naive httpx + aiolimiter approach, in one run.

Both run against rongpub's emulator in its own process: the real quotas (group 20/s, chatroom
100/s) counted in a strict sliding 1 s window, 429/1008 over quota, every answer delayed a
uniform 50-300 ms. 200 callers per client send mixed sizes (1-3 groups, 1-10 chatrooms) for
`--duration` seconds per client and API. Per client and API it prints: requests, 429s per 1,000
requests (bar: at most 1), the share of the quota accepted in the steady part (the slope of
accepted targets over time, the first 5 s and the last 1 s left out; goal: at least 98%),
targets lost (must be 0), the worst 1 s window of targets that arrived, and the tightest span
holding limit + 1 targets as they arrived at the server and as they left rongpub (at least
1000 ms: no 1 s window over the limit).

    python benchmarks/quota_fidelity.py [--duration 60] [--quick] [--margin S] [--json PATH]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _quota_clients as clients
from _measure import RESULTS, table, write_json

from rongpub._constants import (
    CHATROOM_RATE_LIMIT,
    DEFAULT_WINDOW_MARGIN,
    GROUP_RATE_LIMIT,
    MAX_GROUPS,
)
from rongpub.emulator import Arrival, Faults, start_in_subprocess
from rongpub.emulator._quota import worst_window

__all__ = ["main", "measure"]

#: limit per second, most targets per request (the chatroom docs advise at most 10 rooms).
APIS = {"group": (GROUP_RATE_LIMIT, MAX_GROUPS), "chatroom": (CHATROOM_RATE_LIMIT, 10)}
LATENCY = (0.05, 0.3)
CALLERS = 200
KEY, SECRET = "bench-app-key", "bench-app-secret"
NAMES = {"rongpub": "rongpub", "naive": "httpx + aiolimiter(limit, 1)"}
#: Seconds left out at the start (at most) and at the end of a run for the steady share.
WARMUP, EDGE = 5.0, 1.0


def tightest(events: Sequence[tuple[float, int]], limit: int) -> float | None:
    """Shortest span (s) from the first to the last of any run of events holding more than
    `limit` units; None when they never do. `events`: (time, units) in time order."""
    best, units, first = math.inf, 0, 0
    for last, (moment, weight) in enumerate(events):
        units += weight
        while units - events[first][1] > limit:
            units -= events[first][1]
            first += 1
        if units > limit and first < last:
            best = min(best, moment - events[first][0])
    return None if math.isinf(best) else best


def sustained(events: Sequence[tuple[float, int]], low: float, high: float) -> float | None:
    """Units per second in [low, high): the least-squares slope of the running total.

    A plain count over the interval is off by up to a window's worth, depending on where the
    interval cuts the one-window cycle a full queue settles into; the slope is not."""
    points, total = [], 0
    for moment, weight in events:
        total += weight
        if low <= moment < high:
            points.append((moment, total))
    if len(points) < 2:
        return None
    mean_t = sum(t for t, _ in points) / len(points)
    mean_n = sum(n for _, n in points) / len(points)
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (n - mean_n) for t, n in points) / spread if spread else None


def _per_second(events: Sequence[tuple[float, int]], start: float, seconds: int) -> list[int]:
    counts = [0] * seconds
    for moment, weight in events:
        if 0 <= (index := int(moment - start)) < seconds:
            counts[index] += weight
    return counts


def figures(
    arrivals: list[Arrival], tally: clients.Tally, limit: int, seconds: float
) -> dict[str, Any]:
    """One client and API: the server's view of its run plus the client's tally."""
    arrived = [(a.time, a.targets) for a in arrivals]
    accepted = [(a.time, a.targets) for a in arrivals if a.outcome == "accepted"]
    start = arrived[0][0] if arrived else 0.0
    low, high = start + min(WARMUP, seconds / 8), start + seconds - EDGE
    rate = sustained(accepted, low, high)
    rejected = [round(a.time - start, 3) for a in arrivals if a.outcome == "rate_limited"]
    rate_limited = len(rejected)
    server, left = tightest(arrived, limit), tightest(sorted(tally.left), limit)
    return {
        "limit": limit,
        "requests": len(arrivals),
        "rate_limited": rate_limited,
        "per_1000": 1000 * rate_limited / len(arrivals) if arrivals else None,
        "sustained_rate": rate,
        "quota_used": None if rate is None else rate / limit,
        "targets_delivered": tally.delivered,
        "targets_lost": tally.lost,
        "failures": tally.failures,
        "worst_window_arrived": worst_window(arrived),
        "worst_window_accepted": worst_window(accepted),
        "tightest_arrived_ms": None if server is None else server * 1000,
        "tightest_left_ms": None if left is None else left * 1000,
        "rate_limited_at": rejected,
        "accepted_per_second": _per_second(accepted, start, int(seconds)),
    }


def _run(
    client: str, url: str, api: str, seconds: float, margin: float, seed: int
) -> clients.Tally:
    limit, most = APIS[api]
    if client == "rongpub":
        args = (url, KEY, SECRET, api, limit, most, CALLERS, seconds, margin, seed)
        return anyio.run(clients.rongpub, *args)
    return anyio.run(clients.naive, url, KEY, SECRET, api, limit, most, CALLERS, seconds, seed)


def measure(
    *, seconds: float, margin: float, clients_run: Sequence[str] = tuple(NAMES), seed: int = 7
) -> dict[str, Any]:
    """Run both clients on both APIs; the JSON section (also printed as a table)."""
    result: dict[str, Any] = {
        "load_average_before": list(os.getloadavg()),
        "seconds": seconds,
        "callers": CALLERS,
        "latency": list(LATENCY),
        "margin": margin,
        "rows": [],
    }
    faults = Faults(latency=LATENCY)
    with start_in_subprocess(
        app_key=KEY, app_secret=SECRET, window="sliding", faults=faults, seed=seed
    ) as server:
        for api, (limit, _) in APIS.items():
            for client, name in NAMES.items():
                if client not in clients_run:
                    continue
                server.reset()
                tally = _run(client, server.url, api, seconds, margin, seed)
                time.sleep(0.5)  # answers still on their way are not arrivals
                arrivals = sorted(
                    (a for a in server.arrivals() if a.api == api), key=lambda a: a.time
                )
                entry = figures(arrivals, tally, limit, seconds)
                result.setdefault(client, {"client": name})[api] = entry
                result["rows"].append(
                    {
                        "api": api,
                        "client": name,
                        **{k: v for k, v in entry.items() if not isinstance(v, list | dict)},
                    }
                )
    columns = (
        "api",
        "client",
        "limit",
        "requests",
        "rate_limited",
        "per_1000",
        "quota_used",
        "targets_lost",
        "worst_window_arrived",
        "tightest_arrived_ms",
        "tightest_left_ms",
    )
    headers = (
        "api",
        "client",
        "limit/s",
        "requests",
        "429s",
        "429s/1000",
        "quota used",
        "lost",
        "worst 1s",
        "tightest server ms",
        "tightest client ms",
    )
    result["load_average_after"] = list(os.getloadavg())
    rows = [[row[c] for c in columns] for row in result["rows"]]
    print(
        table(
            f"{CALLERS} callers, {seconds:g} s per client and API, margin {margin:g} s, "
            "strict sliding window, answers after 50-300 ms",
            headers,
            rows,
        )
        + "\n"
    )
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per run (60)")
    parser.add_argument("--quick", action="store_true", help="8 s per run")
    parser.add_argument(
        "--margin",
        type=float,
        default=DEFAULT_WINDOW_MARGIN,
        help=f"rongpub's window margin, seconds ({DEFAULT_WINDOW_MARGIN})",
    )
    parser.add_argument("--clients", nargs="+", choices=list(NAMES), default=list(NAMES))
    parser.add_argument("--json", type=Path, default=RESULTS / "quota_fidelity.json")
    args = parser.parse_args(argv)
    seconds = 8.0 if args.quick else args.duration
    write_json(args.json, measure(seconds=seconds, margin=args.margin, clients_run=args.clients))


if __name__ == "__main__":
    main()
