"""The two clients `quota_fidelity.py` compares, as closed-loop callers sending mixed sizes.

- rongpub: `RongCloud` with its default in-process limiter (`SlidingWindowLimiter`), which
  retries a 429 after pausing the quota. Wrapped only to note when each send left the client.
- naive: what a user writes today: httpx, `aiolimiter.AsyncLimiter(limit, 1)` acquiring the
  target count, a hand-signed form post, no retries (a 429 is a message lost).

Each caller loops: draw a size 1..max_targets, send, tally. At the deadline every caller is
cancelled; sends cut short then are "unfinished" (neither delivered nor lost).
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import anyio
import httpx
from aiolimiter import AsyncLimiter

from rongpub import Quota, RateLimitedError, RateLimits, RongCloud, RongCloudError, TextMessage
from rongpub._constants import CHATROOM_PUBLISH_PATH, GROUP_PUBLISH_PATH
from rongpub._limit.protocol import Departure
from rongpub._limit.sliding_log import SlidingWindowLimiter

__all__ = ["Tally", "naive", "rongpub"]

TEXT = "hello from the quota fidelity benchmark"
PATHS = {"group": GROUP_PUBLISH_PATH, "chatroom": CHATROOM_PUBLISH_PATH}
TARGET_FIELDS = {"group": "toGroupId", "chatroom": "toChatroomId"}


@dataclass
class Tally:
    """Client-side counts. `left`: (wall-clock time, targets) when each send left (rongpub)."""

    delivered: int = 0
    lost: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    left: list[tuple[float, int]] = field(default_factory=list)

    def fail(self, kind: str, targets: int) -> None:
        self.lost += targets
        self.failures[kind] = self.failures.get(kind, 0) + 1


Send = Callable[[list[str]], Awaitable[bool]]


async def _drive(
    send: Send, tally: Tally, api: str, max_targets: int, callers: int, seconds: float, seed: int
) -> None:
    rng = random.Random(seed)

    async def caller() -> None:
        while True:
            targets = [f"{api}-{i}" for i in range(rng.randint(1, max_targets))]
            if await send(targets):
                tally.delivered += len(targets)

    async with anyio.create_task_group() as group:
        for _ in range(callers):
            group.start_soon(caller)
        await anyio.sleep(seconds)
        group.cancel_scope.cancel()


class _Noting:
    """The default limiter, noting the instant each send really left (on the wall clock, to
    compare with the server's arrival times)."""

    def __init__(self, tally: Tally) -> None:
        self._inner = SlidingWindowLimiter()
        self._tally = tally
        self._offset = time.time() - time.monotonic()

    async def acquire(self, quota: Quota, cost: int) -> _Leaving:
        return _Leaving(self, await self._inner.acquire(quota, cost), cost)

    def note(self, cost: int) -> None:
        self._tally.left.append((anyio.current_time() + self._offset, cost))

    async def pause(self, quota: Quota, seconds: float | None) -> None:
        await self._inner.pause(quota, seconds)

    async def aclose(self) -> None:
        await self._inner.aclose()


class _Leaving:
    """Passes the client's "bytes leaving now" to the limiter, then notes that instant."""

    def __init__(self, noting: _Noting, inner: Departure, cost: int) -> None:
        self._noting, self._inner, self._cost = noting, inner, cost

    async def leaving(self) -> None:
        await self._inner.leaving()

    def left(self) -> None:
        self._inner.left()
        self._noting.note(self._cost)


async def rongpub(
    url: str,
    key: str,
    secret: str,
    api: str,
    limit: int,
    max_targets: int,
    callers: int,
    seconds: float,
    margin: float,
    seed: int,
) -> Tally:
    """Run rongpub's callers for `seconds`; its tally."""
    tally = Tally()
    limits = RateLimits(**{api: limit}, margin=margin)
    message = TextMessage(content=TEXT)
    async with RongCloud(
        key, secret, base_urls=[url], rate_limits=limits, limiter=_Noting(tally)
    ) as client:

        async def send(targets: list[str]) -> bool:
            try:
                if api == "group":
                    await client.publish_group(
                        from_user_id="u1", group_ids=targets, content=message
                    )
                else:
                    await client.publish_chatroom(
                        from_user_id="u1", chatroom_ids=targets, content=message
                    )
            except RateLimitedError:
                tally.fail("429 after retries", len(targets))
                return False
            except RongCloudError as exc:
                tally.fail(type(exc).__name__, len(targets))
                return False
            return True

        await _drive(send, tally, api, max_targets, callers, seconds, seed)
    return tally


def _signed(key: str, secret: str) -> dict[str, str]:
    nonce, stamp = secrets.token_hex(8), str(int(time.time() * 1000))
    signature = hashlib.sha1((secret + nonce + stamp).encode()).hexdigest()
    return {
        "App-Key": key,
        "Nonce": nonce,
        "Timestamp": stamp,
        "Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


async def naive(
    url: str,
    key: str,
    secret: str,
    api: str,
    limit: int,
    max_targets: int,
    callers: int,
    seconds: float,
    seed: int,
) -> Tally:
    """Run the httpx + AsyncLimiter(limit, 1) callers for `seconds`; their tally."""
    tally = Tally()
    limiter = AsyncLimiter(limit, 1)
    content = json.dumps({"content": TEXT})
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10.0) as http:

        async def send(targets: list[str]) -> bool:
            await limiter.acquire(len(targets))
            fields = [("fromUserId", "u1"), *((TARGET_FIELDS[api], t) for t in targets)]
            body = urlencode([*fields, ("objectName", "RC:TxtMsg"), ("content", content)])
            response = await http.post(PATHS[api], content=body, headers=_signed(key, secret))
            if response.status_code != 200:
                tally.fail(f"HTTP {response.status_code}", len(targets))
                return False
            return True

        await _drive(send, tally, api, max_targets, callers, seconds, seed)
    return tally
