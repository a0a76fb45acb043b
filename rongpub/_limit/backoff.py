"""How long one quota pauses after a 429/1008 that names no Retry-After (RongCloud sends none).

The limiter's own log said the send fitted, so the server saw the window differently: its
arrival times were squeezed by more than the margin (a stall on the way or in the server), or
another client shares the app key. Pausing a whole window for the first would cost a full
second of quota per 429 (about 1.7% of a minute), so the pause grows with the evidence:

- a first 429: hold until the next unit in the log frees, plus `step` (the margin): the
  sends that follow leave that much later than the log alone would let them;
- 429s within one window of the last counted one answer sends that left before it took
  effect (answers take up to hundreds of milliseconds): the same hold, not counted again;
- a 429 one to three windows after the last counted one means the hold was not enough:
  four times the extra each time, up to a whole window (`span`);
- after three quiet windows, back to the first step.
"""

from __future__ import annotations

import math

__all__ = ["Backoff"]

#: Seconds of extra hold after a first 429 when the margin is zero.
MIN_STEP = 0.005
#: Growth of the extra hold per window that still sees a 429.
GROWTH = 4
#: Windows after the last counted 429 within which another one escalates.
MEMORY = 3


class Backoff:
    """The pause after each 429 of one quota: `span` = window + margin, `step` = margin."""

    def __init__(self, *, span: float, step: float) -> None:
        self.span = span
        self.step = max(step, MIN_STEP)
        self._strikes = 0
        self._counted_at = -math.inf

    def hold(self, now: float, next_free: float) -> float:
        """Seconds to pause from `now`, given the instant the log's next unit frees."""
        since = now - self._counted_at
        if since >= self.span:
            self._strikes = self._strikes + 1 if since < MEMORY * self.span else 0
            self._counted_at = now
        extra: float = self.step * GROWTH**self._strikes
        return min(self.span, max(0.0, next_free - now) + extra)
