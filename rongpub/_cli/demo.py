"""`rongpub demo`: the main job end to end, against the embedded emulator (no network).

Starts the emulator in a child process on a free loopback port with RongCloud's real quotas
(20 group and 100 chatroom targets per second), fans one message out to a few thousand
groups and chatrooms at once, shows the live progress, and ends with a short report: targets
sent, the rate achieved against each quota, the 429s the server answered (0 expected) and
where the per-target results (the journals) were written.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import msgspec

from .._client import RongCloud
from .._config import RateLimits
from .._constants import CHATROOM_RATE_LIMIT, GROUP_RATE_LIMIT
from .._fanout.engine import Fanout
from .._fanout.report import FanoutAborted, FanoutReport
from .._messages import TextMessage
from .fanout import run_interruptibly
from .progress import open_display

__all__ = ["register", "run"]

#: Defaults that finish in about a minute at the real quotas (both APIs run at once).
DEFAULT_GROUPS = 1200
DEFAULT_CHATROOMS = 6000
RESULTS_DIR = "rongpub-demo-results"
#: Connections opened before the first request (more than both fan-outs start with).
_WARM_CONNECTIONS = 16
_INTERRUPTED = 130


def register(subparsers: Any) -> None:
    """Add the `demo` subcommand to the `rongpub` parser's `subparsers`."""
    parser = subparsers.add_parser(
        "demo", help="fan a message out through the embedded emulator", description=__doc__
    )
    add = parser.add_argument
    add("--groups", type=int, default=DEFAULT_GROUPS, help=f"default {DEFAULT_GROUPS}")
    add("--chatrooms", type=int, default=DEFAULT_CHATROOMS, help=f"default {DEFAULT_CHATROOMS}")
    add("--group-limit", type=int, default=GROUP_RATE_LIMIT, help="group targets per second")
    add("--chatroom-limit", type=int, default=CHATROOM_RATE_LIMIT, help="chatroom targets/s")
    add("--output", default=RESULTS_DIR, help=f"results folder (default ./{RESULTS_DIR}/)")
    add("--plain", action="store_true", help="plain progress lines instead of progress bars")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit code (0 when every target was sent)."""
    if min(args.groups, args.chatrooms, args.group_limit, args.chatroom_limit) < 0:
        print("rongpub demo: counts and limits must not be negative", file=sys.stderr)
        return 2
    from ..emulator import start_in_subprocess

    folder = Path(args.output) / time.strftime("%Y%m%d-%H%M%S")
    folder.mkdir(parents=True, exist_ok=True)
    limits = RateLimits(group=args.group_limit, chatroom=args.chatroom_limit)
    print("starting the RongCloud emulator (a local server, in its own process)...")
    with start_in_subprocess(
        group_limit=limits.group, chatroom_limit=limits.chatroom, seed=1
    ) as emulator:
        print(f"emulator on {emulator.url}: group {limits.group}/s, chatroom {limits.chatroom}/s")
        key, secret = emulator.app_key, emulator.app_secret
        reports, interrupted = anyio.run(
            _fan_out, args, limits, (key, secret, emulator.url), folder
        )
        rate_limited = sum(s.rate_limited for s in emulator.stats().values())
    _write_summary(folder, reports, rate_limited)
    _print_report(reports, rate_limited, folder, interrupted)
    if interrupted:
        return _INTERRUPTED
    return 0 if all(report.complete for report in reports) else 1


async def _fan_out(
    args: argparse.Namespace, limits: RateLimits, server: tuple[str, str, str], folder: Path
) -> tuple[list[FanoutReport], bool]:
    """Both fan-outs at once, each with its progress row and journal; the reports and
    whether Ctrl-C cut them short."""
    key, secret, url = server
    message: dict[str, Any] = {
        "from_user_id": "rongpub-demo",
        "content": TextMessage(content="Hello from the rongpub demo"),
    }
    pool = httpx.Limits(max_keepalive_connections=_WARM_CONNECTIONS)
    async with httpx.AsyncClient(limits=pool) as http:
        await _warm_up(http, url)
        rc = RongCloud(key, secret, base_urls=[url], rate_limits=limits, http_client=http)
        async with rc:
            return await _run_both(args, rc, folder, message)


async def _run_both(
    args: argparse.Namespace, rc: RongCloud, folder: Path, message: dict[str, Any]
) -> tuple[list[FanoutReport], bool]:
    with open_display(plain=True if args.plain else None) as display:
        fanouts = [
            _start(rc, api, count, folder, display.track(api), message)
            for api, count in (("group", args.groups), ("chatroom", args.chatrooms))
            if count
        ]

        async def both() -> None:
            async with anyio.create_task_group() as group:
                for fanout in fanouts:
                    group.start_soon(_settle, fanout)

        def stop_now() -> None:
            for fanout in fanouts:
                fanout.stop_now()

        interrupted = await run_interruptibly(both, stop_now)
    return [fanout.report for fanout in fanouts], interrupted


def _start(
    rc: RongCloud,
    api: str,
    count: int,
    folder: Path,
    on_progress: Callable[[FanoutReport], None],
    message: dict[str, Any],
) -> Fanout:
    start = rc.fanout_group if api == "group" else rc.fanout_chatroom
    return start(
        _ids(f"demo-{api}-", count),
        journal=folder / f"{api}.jsonl",
        on_progress=on_progress,
        total=count,
        **message,
    )


async def _warm_up(http: httpx.AsyncClient, url: str) -> None:
    """Open the connections the first second will use before it starts: a connection set up
    mid-burst delays its request by more than the limiter's margin on a loaded machine, so
    the first window's requests would reach the server late and the second window's early.
    A long-running service has warm connections anyway."""
    async with anyio.create_task_group() as group:
        for _ in range(_WARM_CONNECTIONS):
            group.start_soon(http.get, url + "/_emulator/faults")


async def _settle(fanout: Fanout) -> None:
    with contextlib.suppress(FanoutAborted):  # the report holds the error, printed below
        await fanout


def _ids(prefix: str, count: int) -> Iterator[str]:
    """Ids generated lazily, as a database cursor would yield them."""
    width = len(str(count))
    return (f"{prefix}{number:0{width}d}" for number in range(1, count + 1))


def _write_summary(folder: Path, reports: list[FanoutReport], rate_limited: int) -> None:
    summary = {
        "rate_limited_answers": rate_limited,
        "fanouts": [
            {
                "api": r.api,
                "sent": r.sent,
                "failed": r.failed,
                "unknown": r.unknown,
                "seconds": round(r.elapsed, 3),
                "rate": round(r.rate, 2),
                "quota": r.quota,
                "quota_use": None if r.quota_use is None else round(r.quota_use, 4),
                "journal": r.journal,
            }
            for r in reports
        ],
    }
    (folder / "summary.json").write_bytes(msgspec.json.format(msgspec.json.encode(summary)))


def _print_report(
    reports: list[FanoutReport], rate_limited: int, folder: Path, interrupted: bool
) -> None:
    print("\nrongpub demo " + ("interrupted (partial results)" if interrupted else "done"))
    for report in reports:
        use = report.quota_use
        quota = "" if use is None else f" against {report.quota}/s (quota use {use:.0%})"
        print(
            f"  {report.api:<9} {report.sent} of {report.total} sent in {report.elapsed:.1f} s:"
            f" {report.rate:.1f}/s{quota}; {report.failed} failed, {report.unknown} unknown"
        )
        if report.error is not None:
            print(f"            stopped early: {report.error}")
    print(f"  429 answers from the emulator: {rate_limited}")
    print(f"  per-target results: {folder}/ (one JSON line per target; summary.json)")
