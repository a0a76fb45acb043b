"""How fan-out packs targets into requests without wasting quota.

A request to k targets costs k units of a quota of `limit` units per window. If every pack
held the maximum m, an exact sliding-window limiter would fit only floor(limit / m) packs per
window: at 20/s with packs of 3 that is 6 packs = 18 targets, 90% of the quota. So pack sizes
follow a cycle that sums to exactly `limit` (20 -> 3,3,3,3,3,3,2; 100 -> ten packs of 10).
Requests reach the limiter in the order they are packed, so in steady state each pack waits
for the pack one cycle earlier, of the same size, to leave the window: the window stays full.
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["Packer", "pack_cycle"]


def pack_cycle(maximum: int, limit: int | None) -> tuple[int, ...]:
    """Pack sizes, repeated in order, for packs of at most `maximum` targets under a quota
    of `limit` targets per window (`None`: unlimited, every pack full)."""
    if maximum < 1:
        raise ValueError("packs hold at least one target")
    if limit is None:
        return (maximum,)
    largest = min(maximum, limit)
    full, rest = divmod(limit, largest)
    return (largest,) * full + ((rest,) if rest else ())


class Packer:
    """Collects targets into packs whose sizes follow `pack_cycle`; one pack at a time.

    A pack never holds the same id twice (the API rejects that): a repeated id closes the
    current pack early, so the repeat travels in the next one.
    """

    def __init__(self, cycle: tuple[int, ...]) -> None:
        self._sizes: Iterator[int] = _repeat(cycle)
        self._size = next(self._sizes)
        self.pending: list[str] = []

    def add(self, target: str) -> list[str] | None:
        """Add `target`; returns the pack it completes or displaces, else None."""
        if target in self.pending:
            done = self.take()
            self.pending.append(target)
            return done
        self.pending.append(target)
        return self.take() if len(self.pending) >= self._size else None

    def take(self) -> list[str]:
        """Hand over the current pack (possibly short or empty) and start the next one."""
        done, self.pending = self.pending, []
        if done:
            self._size = next(self._sizes)
        return done


def _repeat(cycle: tuple[int, ...]) -> Iterator[int]:
    while True:
        yield from cycle
