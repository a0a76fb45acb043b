"""The in-process limiter's cost per send with a full log: 6,000 entries (the private quota,
6,000 per 60 s, sent one user a request) against 20 (the group quota, 20 per second).

One task sends single-unit requests back to back on a fake clock (its sleep only moves the
clock), `acquire` -> `leaving()` -> `left()` as the client does, so the log holds `limit`
entries in steady state. Reported: microseconds of CPU per send after the log filled (mean of
`--repeats` runs), and the ratio of the two, which is what matters on a shared machine.

    python benchmarks/sliding_log_entries.py [--sends 20000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import anyio
import anyio.lowlevel

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rongpub import Quota, SlidingWindowLimiter

__all__ = ["cost_per_send"]

CASES = {"group (20 per 1 s)": (20, 1.0), "private (6,000 per 60 s)": (6000, 60.0)}


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await anyio.lowlevel.checkpoint()


async def _run(limit: int, window: float, sends: int) -> float:
    clock = _Clock()
    limiter = SlidingWindowLimiter(clock=clock, sleep=clock.sleep)
    quota = Quota("app", "bench", limit, 0.01, window)

    async def send() -> None:
        departure = await limiter.acquire(quota, 1)
        await departure.leaving()
        departure.left()

    for _ in range(2 * limit):  # fill the log: `limit` entries from now on
        await send()
    started = time.process_time()
    for _ in range(sends):
        await send()
    return (time.process_time() - started) / sends * 1e6


def cost_per_send(limit: int, window: float, sends: int, repeats: int) -> float:
    """Mean microseconds of CPU per send with `limit` entries in the log."""
    runs = [anyio.run(_run, limit, window, sends) for _ in range(repeats)]
    return sum(runs) / len(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    costs = {
        name: cost_per_send(limit, window, args.sends, args.repeats)
        for name, (limit, window) in CASES.items()
    }
    for name, cost in costs.items():
        print(f"{name:28} {cost:8.1f} us per send")
    small, large = costs.values()
    print(f"ratio 6,000 entries / 20 entries: {large / small:.2f}")


if __name__ == "__main__":
    main()
