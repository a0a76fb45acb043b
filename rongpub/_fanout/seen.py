"""A compact set of ids for fan-out: which targets were seen, which a journal settled.

A Python `set` of a million short ids costs ~90 MB. `DigestSet` keeps a 128-bit digest per
id (two 64-bit halves in two `array("Q")` columns) in one open-addressing table with linear
probing at load <= 1/2: at most 32 bytes per id, ~32 MB per million. The halves are Python's
keyed string hash (SipHash) of the id and of the id plus a NUL, so it is fast and a false
match needs two independent 64-bit collisions (~n^2 / 2^129, about 1e-27 for a million ids).
The key changes per process: a `DigestSet` is never stored, only rebuilt (e.g. from a journal).
"""

from __future__ import annotations

from array import array

__all__ = ["DigestSet"]

_MASK64 = (1 << 64) - 1
_INITIAL_SLOTS = 1024
# Slot markers on the high half: 0 with low 0 is empty, 0 with low 1 was deleted.
_EMPTY_LOW, _DELETED_LOW = 0, 1


def _digest(value: str) -> tuple[int, int]:
    high = hash(value) & _MASK64 or 1  # 0 marks a free slot
    return high, hash(value + "\0") & _MASK64


def _zeros(slots: int) -> array[int]:
    return array("Q", bytes(8 * slots))


class DigestSet:
    """A set of strings stored as 128-bit digests (add, discard, membership, len)."""

    def __init__(self) -> None:
        self._high, self._low = _zeros(_INITIAL_SLOTS), _zeros(_INITIAL_SLOTS)
        self._mask = _INITIAL_SLOTS - 1
        self._used = 0  # live entries plus deleted markers: what probing walks over
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def __contains__(self, value: object) -> bool:
        return isinstance(value, str) and self._find(*_digest(value))[0] >= 0

    def add(self, value: str) -> bool:
        """Add `value`; returns False when it was already present."""
        high, low = _digest(value)
        found, free = self._find(high, low)
        if found >= 0:
            return False
        if self._high[free] == 0 and self._low[free] == _EMPTY_LOW:
            self._used += 1
        self._high[free], self._low[free] = high, low
        self._len += 1
        if self._used * 2 > self._mask + 1:
            self._rehash()
        return True

    def discard(self, value: str) -> bool:
        """Remove `value`; returns whether it was present."""
        found, _ = self._find(*_digest(value))
        if found < 0:
            return False
        self._high[found], self._low[found] = 0, _DELETED_LOW
        self._len -= 1
        return True

    def _find(self, high: int, low: int) -> tuple[int, int]:
        """(slot holding the digest or -1, first slot the digest may be stored in)."""
        highs, lows, mask = self._high, self._low, self._mask
        index, free = high & mask, -1
        while True:
            slot = highs[index]
            if slot == high:
                if lows[index] == low:
                    return index, free
            elif slot == 0:
                if lows[index] == _EMPTY_LOW:
                    return -1, index if free < 0 else free
                if free < 0:
                    free = index
            index = (index + 1) & mask

    def _rehash(self) -> None:
        """Re-insert the live entries, dropping deleted markers; double when over 1/4 full."""
        slots = self._mask + 1
        if self._len * 4 > slots:
            slots *= 2
        old = zip(self._high, self._low, strict=True)
        self._high, self._low = highs, lows = _zeros(slots), _zeros(slots)
        self._mask = mask = slots - 1
        for high, low in old:
            if high:
                index = high & mask
                while highs[index]:
                    index = (index + 1) & mask
                highs[index], lows[index] = high, low
        self._used = self._len
