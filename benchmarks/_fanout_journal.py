"""Part (c) of the fan-out suite, and `journal_memory.py`: what the journal costs.

The engine fans group targets (packs of 3) out to a `send` that answers at once (it awaits
the journal's `sending` hook, as the real client does, and answers a message UID shaped
like the real ones per target), with no journal, the JSONL file, and a `RedisJournal` on a
redis-server of its own on loopback. Limits are lifted, so the figures are the journal's
cost per target and nothing else: targets/s (median of interleaved rounds), the Redis
calls per request (`INFO commandstats`) and the journal's size in Redis per target
(`MEMORY USAGE` of its keys, `SAMPLES 0`: every element counted).
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
from redis.asyncio import Redis

from rongpub._fanout.engine import Fanout
from rongpub._fanout.options import FANOUT_GROUP_PACK, FanoutOptions
from rongpub._fanout.store import FanoutJournal
from rongpub._request import PreparedRequest, group_template
from rongpub._response import PublishResult
from rongpub.redis import RedisJournal
from rongpub.testing import RedisServer

__all__ = ["journal_memory", "measure_journals"]

MESSAGE: dict[str, Any] = {"from_user_id": "bench", "object_name": "RC:TxtMsg"}
MESSAGE["content"] = {"content": "hello from the journal benchmark"}
_KEYS = ("meta", "lease", "sent", "failed", "unknown", "sending")


def groups(count: int, prefix: str) -> Iterator[str]:
    """`count` group ids like `group-0000042` (13 characters with the default prefix)."""
    return (f"{prefix}{number:07d}" for number in range(count))


def _uid(number: int) -> str:
    """A 19-character message UID shaped like RongCloud's (4 groups of 4)."""
    text = f"{number:016X}"
    return "-".join(text[i : i + 4] for i in range(0, 16, 4))


async def _send(
    request: PreparedRequest, *, on_leaving: Callable[[], Awaitable[None]] | None = None
) -> PublishResult:
    if on_leaving is not None:
        await on_leaving()
    await anyio.lowlevel.checkpoint()
    uids = {target: _uid(hash(target) & (2**64 - 1)) for target in request.targets}
    return PublishResult(message_uids=uids, code=200, request_id=request.request_id)


async def _run(targets: int, journal: str | FanoutJournal | None, prefix: str) -> float:
    """Targets per second of one fan-out through the engine."""
    options = FanoutOptions(pack_size=FANOUT_GROUP_PACK, journal=journal, keep_results="none")
    template = group_template(**MESSAGE)
    fanout = Fanout(_send, template, groups(targets, prefix), quota=None, options=options)
    wall = time.perf_counter()
    report = await fanout
    wall = time.perf_counter() - wall
    assert report.sent == targets, report.summary()
    return targets / wall


async def _evalsha_calls(client: Redis) -> int:
    stats: dict[str, Any] = await client.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


async def _journal_bytes(client: Redis, name: str) -> int:
    total = 0
    for part in _KEYS:
        used = await client.memory_usage(f"rongpub:journal:{{{name}}}:{part}", samples=0)
        total += int(used or 0)
    return total


async def _measure(url: str, targets: int, rounds: int, folder: Path) -> dict[str, Any]:
    rates: dict[str, list[float]] = {"none": [], "file": [], "redis": []}
    calls = memory = 0
    async with Redis.from_url(url) as client:
        for round_ in range(rounds):
            prefix = f"r{round_}-"
            rates["none"].append(await _run(targets, None, prefix))
            path = folder / f"journal-{round_}.jsonl"
            rates["file"].append(await _run(targets, str(path), prefix))
            name = uuid.uuid4().hex
            before = await _evalsha_calls(client)
            rates["redis"].append(await _run(targets, RedisJournal(client, name), prefix))
            calls = await _evalsha_calls(client) - before
            memory = await _journal_bytes(client, name)
    requests = -(-targets // FANOUT_GROUP_PACK)
    medians = {kind: statistics.median(values) for kind, values in rates.items()}
    return {
        "targets": targets,
        "rounds": rounds,
        "targets_per_second": {kind: round(rate) for kind, rate in medians.items()},
        "redis_vs_file": round(medians["redis"] / medians["file"], 3),
        "file_vs_none": round(medians["file"] / medians["none"], 3),
        "redis_calls_per_request": round(calls / requests, 3),
        "redis_bytes_per_target": round(memory / targets, 1),
    }


def measure_journals(targets: int, rounds: int = 3) -> dict[str, Any]:
    """Part (c): no journal vs file vs Redis, `rounds` interleaved rounds (medians)."""
    server = RedisServer()
    server.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            return anyio.run(_measure, server.url, targets, rounds, Path(folder))
    finally:
        server.close()


async def _memory(url: str, targets: int) -> dict[str, Any]:
    name = f"memory-{targets}"
    async with Redis.from_url(url) as client:
        await client.flushall()
        info: dict[str, Any] = await client.info("memory")
        before = int(info["used_memory"])
        rate = await _run(targets, RedisJournal(client, name), "group-")
        info = await client.info("memory")
        used = int(info["used_memory"]) - before
        keys = await _journal_bytes(client, name)
        version: dict[str, Any] = await client.info("server")
    return {
        "targets": targets,
        "redis_version": version["redis_version"],
        "target_id": "group-0000042 (13 chars)",
        "message_uid": "19 chars",
        "memory_usage_bytes": keys,
        "memory_usage_mb": round(keys / 2**20, 1),
        "used_memory_delta_mb": round(used / 2**20, 1),
        "bytes_per_target": round(keys / targets, 1),
        "targets_per_second": round(rate),
    }


def journal_memory(targets: int) -> dict[str, Any]:
    """A `targets`-target journal written through the engine, measured in Redis."""
    server = RedisServer()
    server.start()
    try:
        return anyio.run(_memory, server.url, targets)
    finally:
        server.close()
