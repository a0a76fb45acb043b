"""This process's own bookings of one quota, kept so that Redis can be told of them again.

Redis's log is the only place the quota's bookings are counted. If Redis loses it (restarted
empty: a new epoch, see `scripts/reserve.lua`), bookings this process still holds, and sends
that left less than a width ago, are counted nowhere, and new bookings would be placed as if
they did not exist. So each `SharedQuota` keeps the bookings of its quota that it holds
(until their send leaves or they are given back) and the sends that left within the last
width (`window + margin + slack`); on a new epoch it registers them again before booking
anything new, and when Redis fails it hands them to a local fallback (docs/redis-faults.md).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Entry", "Ledger"]

_PRUNE = 64


@dataclass(frozen=True)
class Entry:
    """One booking: its log `member`, `cost` units, `instant` (Redis time, microseconds), and
    whether its send has `left`."""

    member: str
    cost: int
    instant: int
    left: bool = False


class Ledger:
    """The bookings of one quota that this process made and Redis must count.

    `width`: microseconds an entry counts after its instant (window + margin + slack).
    """

    def __init__(self, width: int) -> None:
        self.width = width
        self._entries: dict[str, Entry] = {}
        self._moves: dict[str, int] = {}  # held bookings placed anew when registered again
        self._prune_at = _PRUNE  # entries kept before old ones are looked for again

    def __len__(self) -> int:
        return len(self._entries)

    def book(self, member: str, cost: int, instant: int, *, now: int) -> None:
        """`member` was booked at `instant` when Redis's clock read `now` (microseconds);
        entries that no longer share a window with `now` are forgotten now and then (each
        time the ledger doubled), so it stays the size of a few windows' bookings."""
        self._entries[member] = Entry(member, cost, instant)
        if len(self._entries) >= self._prune_at:
            self.entries(now)
            self._prune_at = max(_PRUNE, 2 * len(self._entries))

    def move(self, member: str, instant: int, *, left: bool = False) -> None:
        """`member` now counts from `instant` (moved, re-dated, or its send `left` there)."""
        entry = self._entries.get(member)
        if entry is not None:
            self._entries[member] = Entry(member, entry.cost, instant, left or entry.left)

    def drop(self, *members: str) -> None:
        """`members` were given back: their units are not sent."""
        for member in members:
            self._entries.pop(member, None)
            self._moves.pop(member, None)

    def placed(self, member: str, instant: int) -> None:
        """The held `member` was registered again at `instant`: its send waits for it."""
        self.move(member, instant)
        self._moves[member] = instant

    def take_move(self, member: str) -> int | None:
        """The instant `member` was registered again at, if it moved (asked once)."""
        return self._moves.pop(member, None)

    def entries(self, now: int) -> list[Entry]:
        """Every entry that still shares a window with `now` (Redis time, microseconds), in
        time order; older ones are forgotten."""
        for member in [m for m, e in self._entries.items() if e.instant <= now - self.width]:
            self.drop(member)
        return sorted(self._entries.values(), key=lambda entry: entry.instant)

    def split(self, now: int) -> tuple[list[Entry], list[Entry]]:
        """`entries(now)` in two: those that left or leave by `now` (to be counted where they
        are), and those held for a later instant (to be placed where they fit)."""
        entries = self.entries(now)
        due = [entry for entry in entries if entry.left or entry.instant <= now]
        return due, [entry for entry in entries if not (entry.left or entry.instant <= now)]
