"""Part (a) of the fan-out suite, run in a child process: a million targets, limits lifted.

The child's peak RSS is the fan-out's alone (the server is another process). Three CPU
figures per target: the fan-out over HTTP; a bare loop sending the same packs through the
same client at the same concurrency (the HTTP stack's and the client's share, no engine);
and the engine alone, fanning out to a `send` that answers at once (journal on, as above).
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx

from rongpub import RongCloud
from rongpub._fanout.engine import Fanout
from rongpub._fanout.options import (
    FANOUT_CHATROOM_PACK,
    FANOUT_UNLIMITED_CONCURRENCY,
    FanoutOptions,
)
from rongpub._fanout.report import FanoutReport
from rongpub._request import PreparedRequest, chatroom_template
from rongpub._response import PublishResult

__all__ = ["MESSAGE", "child_main"]

KEY, SECRET = "bench-app-key", "bench-app-secret"
MESSAGE: dict[str, Any] = {"from_user_id": "bench", "object_name": "RC:TxtMsg"}
MESSAGE["content"] = {"content": "hello from the fan-out benchmark"}
LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50)
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE / 2**20


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def rooms(count: int, prefix: str = "room-") -> Iterator[str]:
    """`count` chatroom ids, generated one at a time (never a list)."""
    return (f"{prefix}{number:07d}" for number in range(count))


def _http(transport: str) -> httpx.AsyncClient:
    if transport == "aiohttp":
        from httpx_aiohttp import AiohttpTransport

        return httpx.AsyncClient(transport=AiohttpTransport(limits=LIMITS))
    return httpx.AsyncClient(limits=LIMITS)


async def _fanout(rc: RongCloud, targets: int, journal: Path) -> dict[str, Any]:
    curve: list[tuple[int, float]] = []
    step = max(1, targets // 10)

    def progress(report: FanoutReport) -> None:
        if report.taken >= step * (len(curve) + 1) or report.done:
            curve.append((report.taken, round(_rss_mb(), 1)))

    cpu, wall = time.process_time(), time.perf_counter()
    report = await rc.fanout_chatroom(
        rooms(targets), journal=journal, keep_results="none", on_progress=progress, **MESSAGE
    )
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert report.sent == targets, report.summary()
    return {
        "targets": targets,
        "wall_seconds": wall,
        "targets_per_second": targets / wall,
        "fanout_cpu_us_per_target": cpu / targets * 1e6,
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "rss_mb_by_targets": curve,
        "journal_mb": round(journal.stat().st_size / 2**20, 1),  # noqa: ASYNC240 (once, at the end)
    }


async def _bare_loop(rc: RongCloud, targets: int) -> float:
    """CPU microseconds per target of the same packs sent by workers around `_send`."""
    template = chatroom_template(**MESSAGE)
    ids = rooms(targets, prefix="bare-")

    async def worker() -> None:
        while pack := [room for _, room in zip(range(FANOUT_CHATROOM_PACK), ids, strict=False)]:
            await rc._sender.send(template.to(pack))

    cpu = time.process_time()
    async with anyio.create_task_group() as group:
        for _ in range(FANOUT_UNLIMITED_CONCURRENCY):
            group.start_soon(worker)
    return (time.process_time() - cpu) / targets * 1e6


async def _engine_only(targets: int, journal: Path) -> float:
    """CPU microseconds per target of the engine with a `send` that answers at once."""
    template = chatroom_template(**MESSAGE)

    async def send(
        request: PreparedRequest, *, on_leaving: Callable[[], Awaitable[None]] | None = None
    ) -> PublishResult:
        if on_leaving is not None:
            await on_leaving()
        await anyio.lowlevel.checkpoint()
        uids = dict.fromkeys(request.targets, "UID0-0000-0000-0000")
        return PublishResult(message_uids=uids, code=200, request_id=request.request_id)

    options = FanoutOptions(pack_size=FANOUT_CHATROOM_PACK, journal=journal, keep_results="none")
    fanout = Fanout(send, template, rooms(targets, "engine-"), quota=None, options=options)
    cpu = time.process_time()
    report = await fanout
    assert report.sent == targets, report.summary()
    return (time.process_time() - cpu) / targets * 1e6


async def _measure(
    url: str, transport: str, targets: int, baseline: int, journal: Path
) -> dict[str, Any]:
    async with (
        _http(transport) as http,
        RongCloud(KEY, SECRET, base_urls=[url], rate_limits=None, http_client=http) as rc,
    ):
        result = await _fanout(rc, targets, journal)  # first: the peak RSS is its own
        bare = await _bare_loop(rc, baseline)
    engine = await _engine_only(baseline, journal.with_name("engine.jsonl"))
    result["transport"] = transport
    result["baseline_targets"] = baseline
    result["baseline_cpu_us_per_target"] = bare
    result["engine_cpu_us_per_target"] = engine
    return result


def child_main(argv: list[str]) -> None:
    """`URL TRANSPORT TARGETS BASELINE JOURNAL`: measure and print one JSON line."""
    url, transport, targets, baseline, journal = argv
    result = anyio.run(_measure, url, transport, int(targets), int(baseline), Path(journal))
    print(json.dumps(result))
