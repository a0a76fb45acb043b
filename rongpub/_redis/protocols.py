"""What a `Booker` needs from Redis (the store's calls, where moved bookings are heard) and
what it hands out (`Held`).

`RedisStore` and `Moves` implement them; unit tests pass fakes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .._limit.protocol import Lane, Quota
from .store import Booking, QuotaKeys, Redated

__all__ = ["Crowding", "Held", "Store"]


class Store(Protocol):
    """The calls a `Booker` makes (`RedisStore`; a fake in unit tests)."""

    def new_member(self, cost: int, lane: Lane = "interactive") -> str: ...

    async def reserve(
        self,
        keys: QuotaKeys,
        quota: Quota,
        member: str,
        *,
        interval: float,
        share: int,
        slack: float,
        late: str | None = None,
        epoch: str = "",
        floor: int = 0,
        notice: float = 0.0,
        max_wait: float | None = None,
    ) -> Booking: ...

    async def restore(
        self,
        keys: QuotaKeys,
        quota: Quota,
        entries: list[tuple[str, int]],
        *,
        slack: float,
        epoch: str = "",
    ) -> tuple[str, bool]: ...

    async def pause(self, keys: QuotaKeys, seconds: float) -> float: ...

    async def give_back(self, keys: QuotaKeys, *members: str) -> None: ...

    async def redate(
        self, keys: QuotaKeys, quota: Quota, member: str, *, written: int | None, slack: float
    ) -> Redated: ...

    async def time(self, keys: QuotaKeys) -> int: ...


class Crowding(Protocol):
    """Where a `Booker` hears of its bookings moved later by a late send (`Moves`)."""

    async def watch(self, channel: str) -> None: ...

    def watching(self, channel: str) -> bool: ...

    def take(self, member: str) -> int | None: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Held:
    """A booking this process holds: its log `member`, `cost` units, and the `instant` they
    may leave (Redis time, microseconds)."""

    member: str
    cost: int
    instant: int

    @property
    def lane(self) -> Lane:
        """The lane its member names (`RedisStore.new_member`: a bulk id ends in "b")."""
        return "bulk" if self.member.rsplit(":", 1)[0].endswith("b") else "interactive"
