"""One sender process of the multi-process test and the shared-quota benchmark.

    python -m tests.redis_worker '<json spec>'

It builds a `RongCloud` whose limiter is a `RedisLimiter` (or, with `"shared": false`, the
default in-process limiter), prints `ready`, waits for a line on stdin (so that all processes
start together), sends, and prints one JSON line: `{"delivered", "lost", "failures",
"requests"}` in targets (requests: sends finished). Spec keys: `url`, `redis_url`, `app_key`,
`app_secret`, `api`, `limit`, `margin`, `tasks`, `shared`, and either
- `sends`: lists of target ids, each sent once, spread over the tasks; or
- `seconds`, `max_targets`, `prefix`, `seed`: each task sends new unique targets (1 to
  `max_targets` a request) until `seconds` have passed; sends cut short are not counted.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

from rongpub import RateLimits, RongCloud, RongCloudError, TextMessage
from rongpub.redis import RedisLimiter

__all__ = ["main", "run_workers"]

_ROOT = Path(__file__).resolve().parent.parent


class Sender:
    """A client plus its tally of targets delivered and lost."""

    def __init__(self, client: RongCloud, api: str) -> None:
        self.client = client
        self.api = api
        self.delivered = self.lost = self.requests = 0
        self.failures: Counter[str] = Counter()
        self.message = TextMessage(content="shared quota")

    async def send(self, targets: list[str]) -> None:
        try:
            if self.api == "group":
                await self.client.publish_group(
                    from_user_id="u1", group_ids=targets, content=self.message
                )
            else:
                await self.client.publish_chatroom(
                    from_user_id="u1", chatroom_ids=targets, content=self.message
                )
        except RongCloudError as exc:
            self.lost += len(targets)
            self.failures[type(exc).__name__] += 1
        else:
            self.delivered += len(targets)
        self.requests += 1

    def tally(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "lost": self.lost,
            "requests": self.requests,
            "failures": dict(self.failures),
        }


async def _fixed(sender: Sender, sends: list[list[str]], tasks: int) -> None:
    queue = iter(sends)

    async def task() -> None:
        for targets in queue:
            await sender.send(targets)

    async with anyio.create_task_group() as group:
        for _ in range(tasks):
            group.start_soon(task)


async def _timed(sender: Sender, spec: dict[str, Any]) -> None:
    rng = random.Random(spec["seed"])
    numbers = iter(range(10**9))

    async def task() -> None:
        while True:
            size = rng.randint(1, spec["max_targets"])
            await sender.send([f"{spec['prefix']}-{next(numbers)}" for _ in range(size)])

    async with anyio.create_task_group() as group:
        for _ in range(spec["tasks"]):
            group.start_soon(task)
        await anyio.sleep(spec["seconds"])
        group.cancel_scope.cancel()


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Send as `spec` says; the tally."""
    limits = RateLimits(**{spec["api"]: spec["limit"]}, margin=spec["margin"])
    limiter = RedisLimiter.from_url(spec["redis_url"]) if spec["shared"] else None
    client = RongCloud(
        spec["app_key"],
        spec["app_secret"],
        base_urls=[spec["url"]],
        rate_limits=limits,
        limiter=limiter,
    )
    sender = Sender(client, spec["api"])
    print("ready", flush=True)
    await anyio.to_thread.run_sync(sys.stdin.readline)
    if "sends" in spec:
        await _fixed(sender, spec["sends"], spec["tasks"])
    else:
        await _timed(sender, spec)
    await client.aclose()
    if limiter is not None:
        await limiter.aclose()
    return sender.tally()


def run_workers(specs: Sequence[dict[str, Any]], timeout: float) -> list[dict[str, Any]]:
    """Start one process per spec, let them all go at once, and return their tallies."""
    command = [sys.executable, "-m", "tests.redis_worker"]
    workers = [
        subprocess.Popen(
            [*command, json.dumps(spec)],
            cwd=_ROOT,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        for spec in specs
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            if worker.stdout.readline().strip() != "ready":
                raise RuntimeError("a worker failed to start")
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        return [json.loads(worker.communicate(timeout=timeout)[0]) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()


def main() -> None:
    """Entry point: the spec is the first argument, the tally goes to stdout."""
    print(json.dumps(anyio.run(run, json.loads(sys.argv[1]))), flush=True)


if __name__ == "__main__":
    main()
