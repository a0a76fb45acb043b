"""Suite 1, third column: the official rc-server-sdk against the strict server.

rc-server-sdk 3.2.0 has no rate limiter and no retry, so what a service built on it sees at
full demand is the server's answer: how many 429s, and how much of the quota it still uses.
It is driven from a thread pool (its calls block) against rongpub's emulator in its own
process, with the settings of `quota_fidelity.py`: the real quotas (group 20/s, chatroom
100/s) counted in a strict sliding 1 s window, a 50-300 ms answer delay, 200 callers. Every
call sends to one target (the SDK cannot address more), and every 429 is a message lost.

    python benchmarks/official_sdk.py [--quick] [--seconds S] [--callers N] [--json PATH]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import RESULTS, run_threads, table, write_json

from rongpub._constants import CHATROOM_RATE_LIMIT, GROUP_RATE_LIMIT
from rongpub.emulator import EmulatorProcess, Faults, start_in_subprocess

__all__ = ["main", "measure"]

LIMITS = {"group": GROUP_RATE_LIMIT, "chatroom": CHATROOM_RATE_LIMIT}
LATENCY = (0.05, 0.3)
CALLERS = 200
KEY, SECRET = "bench-app-key", "bench-app-secret"
#: Seconds left out at each end of the run when computing the sustained rate.
EDGE = 1.0


def _sender(url: str, api: str) -> Callable[[], object]:
    from rongcloud.rongcloud import RongCloud as Official

    message = Official(KEY, SECRET, host_url=url).get_message()
    content = {"content": "hello from the rongpub benchmark"}
    if api == "group":
        group = message.get_group()
        return lambda: group.send("u1", "g1", "RC:TxtMsg", content)
    room = message.get_chatroom()
    return lambda: room.send("u1", "c1", "RC:TxtMsg", content)


def _per_second(times: list[float], start: float, seconds: int) -> list[int]:
    counts = [0] * seconds
    for moment in times:
        index = int(moment - start)
        if 0 <= index < seconds:
            counts[index] += 1
    return counts


def _run_api(child: EmulatorProcess, api: str, seconds: float, callers: int) -> dict[str, Any]:
    child.reset()
    run_threads(
        _sender(child.url, api), callers, warmup=0.0, seconds=seconds, server_cpu=lambda: None
    )
    stats = child.stats(KEY)[api]
    arrivals = [a for a in child.arrivals() if a.api == api]
    accepted = [a.time for a in arrivals if a.outcome == "accepted"]
    start = min((a.time for a in arrivals), default=0.0)
    steady = [t for t in accepted if start + EDGE <= t < start + seconds - EDGE]
    limit = LIMITS[api]
    sustained = len(steady) / (seconds - 2 * EDGE)
    return {
        "limit": limit,
        "callers": callers,
        "seconds": seconds,
        "requests": stats.requests,
        "rate_limited": stats.rate_limited,
        "per_1000": 1000 * stats.rate_limited / stats.requests if stats.requests else None,
        "lost": stats.requests - stats.accepted_requests,
        "worst_window_accepted": stats.worst_window_accepted,
        "worst_window_arrived": stats.worst_window_arrived,
        "sustained_rate": sustained,
        "quota_used": sustained / limit,
        "accepted_per_second": _per_second(accepted, start, int(seconds)),
        "arrived_per_second": _per_second([a.time for a in arrivals], start, int(seconds)),
    }


def measure(*, quick: bool, seconds: float | None = None, callers: int = CALLERS) -> dict[str, Any]:
    """Run both APIs; returns the JSON section (also printed as a table)."""
    seconds = seconds if seconds is not None else (6.0 if quick else 30.0)
    result: dict[str, Any] = {"client": "rc-server-sdk (threads)", "latency": list(LATENCY)}
    with start_in_subprocess(
        app_key=KEY, app_secret=SECRET, window="sliding", faults=Faults(latency=LATENCY), seed=7
    ) as child:
        for api in LIMITS:
            result[api] = _run_api(child, api, seconds, callers)
    rows = [
        (api, r["limit"], r["requests"], r["rate_limited"], r["per_1000"], r["lost"],
         r["worst_window_arrived"], r["worst_window_accepted"], r["quota_used"])
        for api, r in ((api, result[api]) for api in LIMITS)
    ]  # fmt: skip
    print(table(
        f"rc-server-sdk from {callers} threads, {seconds:g} s per API, strict sliding window",
        ("api", "limit/s", "requests", "429s", "429s/1000", "lost", "worst 1s arrived",
         "worst 1s accepted", "quota used"),
        rows,
    ) + "\n")  # fmt: skip
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="6 s per API instead of 30 s")
    parser.add_argument("--seconds", type=float, help="seconds per API")
    parser.add_argument("--callers", type=int, default=CALLERS, help="threads (default 200)")
    parser.add_argument("--json", type=Path, default=RESULTS / "official_sdk.json")
    args = parser.parse_args(argv)
    write_json(args.json, measure(quick=args.quick, seconds=args.seconds, callers=args.callers))


if __name__ == "__main__":
    main()
