"""The in-process limiter's scheduling core (`rongpub._schedule.Schedule`) on simulated time:
quota used at saturation by overtaking budget and pacing, in seconds of CPU, not of waiting.

A discrete-event model of the real client: `--callers` closed-loop callers each queue a send of
1..`most` targets, wait for its grant, leave `lag` later (building the request; 0 with the
limiter's lead, which holds each send until its instant), get an answer 50-300 ms after that,
and queue the next. The head's timer fires 0-`late` late. Quota used is the slope of sent
targets over the run (the first 5 s and the last 1 s left out), as a share of the limit; the
ceiling is `1 / (1 + margin)`, 99.0% with the default 10 ms margin. Mean and spread over seeds.

    python benchmarks/limiter_simulation.py [--seconds 200] [--seeds 4]
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import math
import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rongpub._limit.schedule import Schedule, Ticket

__all__ = ["simulate"]

SPAN = 1.01  # window + the default margin
CALLERS = 200


def simulate(
    *,
    limit: int,
    most: int,
    overtake: float,
    interval: float,
    late: float,
    lag: float,
    seconds: float,
    seed: int,
) -> float:
    """Quota used (share of `limit`) by `CALLERS` saturating callers for `seconds`."""
    rng = random.Random(seed)
    plan = Schedule(
        limit=limit, span=SPAN, overtake=math.floor(overtake * limit), interval=interval
    )
    order = itertools.count()
    events: list[tuple[float, int, str, Ticket | None]] = []
    sent: list[tuple[float, int]] = []
    decide_at = math.inf

    def at(moment: float, kind: str, ticket: Ticket | None = None) -> None:
        heapq.heappush(events, (moment, next(order), kind, ticket))

    def look(now: float, *, woken: bool) -> None:
        nonlocal decide_at
        moment = now if woken else plan.next_change(now) + rng.uniform(0.0, late)
        if moment < decide_at:
            decide_at = moment
            at(moment, "decide")

    for _ in range(CALLERS):
        at(0.0, "queue")
    while events:
        now, _, kind, ticket = heapq.heappop(events)
        if now > seconds:
            break
        if kind == "queue":
            plan.enqueue(rng.randint(1, most))
            look(now, woken=False)
        elif kind == "decide" and now == decide_at:
            decide_at = math.inf
            chosen = plan.pick(now)
            if chosen is None:
                look(now, woken=False)
                continue
            plan.take(chosen, now)
            left = now + rng.uniform(0.0, lag)
            at(left, "leave", chosen)
            at(left + rng.uniform(0.05, 0.3), "queue")
            look(now, woken=True)
        elif kind == "leave" and ticket is not None:
            plan.restamp(ticket, now)
            sent.append((now, ticket.cost))
    return _slope(sent, 5.0, seconds - 1.0) / limit


def _slope(events: list[tuple[float, int]], low: float, high: float) -> float:
    points, total = [], 0
    for moment, weight in sorted(events):
        total += weight
        if low <= moment < high:
            points.append((moment, total))
    mean_t = statistics.fmean(t for t, _ in points)
    mean_n = statistics.fmean(n for _, n in points)
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (n - mean_n) for t, n in points) / spread


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=200.0)
    parser.add_argument("--seeds", type=int, default=4)
    args = parser.parse_args()
    cases = [
        ("strict FIFO", {"overtake": 0.0}),
        ("budget 1 window", {"overtake": 1.0}),
        ("budget 2 windows", {"overtake": 2.0}),
        ("budget 4 windows (default)", {}),
        ("budget 10 windows", {"overtake": 10.0}),
        ("default, no pacing", {"interval": 0.0}),
        ("default, paced 5 ms", {"interval": 0.005}),
        ("default, without the lead", {"late": 0.0015, "lag": 0.003}),
    ]
    print(f"{'case':30s} {'group 20/s':>16s} {'chatroom 100/s':>16s}")
    for name, changes in cases:
        cells = []
        for limit, most in ((20, 3), (100, 10)):
            settings = {"overtake": 4.0, "interval": 0.001, "late": 0.0001, "lag": 0.0} | changes
            runs = [
                simulate(limit=limit, most=most, seconds=args.seconds, seed=seed, **settings)
                for seed in range(args.seeds)
            ]
            cells.append(f"{statistics.fmean(runs):7.2%} ±{statistics.stdev(runs):.2%}")
        print(f"{name:30s} {cells[0]:>16s} {cells[1]:>16s}")


if __name__ == "__main__":
    main()
