"""Part (b) of the fan-out suite: both APIs at the real quotas, with injected faults, and
every target's outcome checked against what the emulator recorded."""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

from rongpub import RateLimits, RongCloud, TextMessage
from rongpub._constants import CHATROOM_RATE_LIMIT, GROUP_RATE_LIMIT
from rongpub._fanout.outcomes import TargetOutcome
from rongpub._fanout.report import FanoutReport
from rongpub.emulator import Arrival, Faults, Record, start_in_subprocess
from rongpub.emulator._quota import worst_window

__all__ = ["FAULTS", "measure_quotas"]

FAULTS = Faults(error_rate=0.05, reset_before_rate=0.005, reset_after_rate=0.005)
LIMITS = {"group": GROUP_RATE_LIMIT, "chatroom": CHATROOM_RATE_LIMIT}
_NOT_SENT = frozenset({"rate_limited", "injected_rate_limited", "rejected"})


async def _fan_out(
    url: str, key: str, secret: str, counts: dict[str, int], margin: float
) -> list[FanoutReport]:
    reports: list[FanoutReport] = []
    content = TextMessage(content="fan-out benchmark")
    limits = RateLimits(margin=margin)
    with tempfile.TemporaryDirectory() as folder:
        async with (
            RongCloud(key, secret, base_urls=[url], rate_limits=limits) as rc,
            anyio.create_task_group() as tg,
        ):
            for api, count in counts.items():
                start = rc.fanout_group if api == "group" else rc.fanout_chatroom
                fanout = start(
                    (f"{api}-{n}" for n in range(count)),
                    from_user_id="bench",
                    content=content,
                    journal=Path(folder) / f"{api}.jsonl",
                    keep_results="all",
                )
                reports.append(fanout.report)
                tg.start_soon(fanout.run)
    return reports


def _accounting(
    targets: int, outcomes: Sequence[TargetOutcome], records: Sequence[Record]
) -> dict[str, int]:
    received = Counter(record.target_id for record in records)
    have = Counter(outcome.target for outcome in outcomes)
    inconsistent = 0
    for outcome in outcomes:
        count = received[outcome.target]
        ok = {"sent": count == 1, "failed": count == 0, "unknown": count <= 1}[outcome.status]
        inconsistent += not ok
    return {
        "lost": targets - len(have),
        "reported_twice": sum(n > 1 for n in have.values()),
        "duplicated": sum(n > 1 for n in received.values()),
        "inconsistent": inconsistent,
    }


def _quota_used(arrivals: Sequence[Arrival], limit: int) -> tuple[float | None, int]:
    """Targets that reached the server over the most the quota allows from the first
    arrival to the last: `limit` per second plus the first window's worth (a sliding window
    lets a whole window go at once, then `limit` per second). Counting whole runs, not a
    slice, keeps the window bursts from skewing short runs. Also the worst 1 s window."""
    reached = [(a.time, a.targets) for a in arrivals if a.outcome not in _NOT_SENT]
    if not reached:
        return None, 0
    span = reached[-1][0] - reached[0][0]
    total = sum(n for _, n in reached)
    return total / (limit * (span + 1)), worst_window(reached)


def measure_quotas(seconds: float, margin: float, seed: int = 11) -> dict[str, Any]:
    """Part (b): fan out for about `seconds` to each API at once, the client's window margin
    `margin` seconds; figures per API."""
    counts = {api: int(limit * seconds) for api, limit in LIMITS.items()}
    with start_in_subprocess(faults=FAULTS, seed=seed) as server:
        started = time.perf_counter()
        server_args = (server.url, server.app_key, server.app_secret)
        reports = anyio.run(_fan_out, *server_args, counts, margin)
        wall = time.perf_counter() - started
        time.sleep(0.5)  # answers to requests cut off late are not arrivals yet
        arrivals, records = server.arrivals(), server.messages()
    result: dict[str, Any] = {
        "seconds": seconds,
        "margin": margin,
        "wall_seconds": wall,
        "apis": {},
    }
    for report in reports:
        api, limit = report.api, LIMITS[report.api]
        mine = sorted((a for a in arrivals if a.api == api), key=lambda a: a.time)
        used, worst = _quota_used(mine, limit)
        result["apis"][api] = {
            "targets": counts[api],
            "sent": report.sent,
            "failed": report.failed,
            "unknown": report.unknown,
            **_accounting(counts[api], report.results, [r for r in records if r.api == api]),
            "rate_limited": sum(a.outcome == "rate_limited" for a in mine),
            "quota_used": used,
            "worst_window_arrived": worst,
            "limit": limit,
        }
    return result
