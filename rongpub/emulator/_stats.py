"""Summaries of the arrival log that benchmarks and tests read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import msgspec

from ._quota import worst_window
from ._records import Arrival

__all__ = ["ApiStats", "summarize"]

_DELIVERED = frozenset({"accepted", "reset_after"})


class ApiStats(msgspec.Struct, frozen=True, kw_only=True):
    """Counts for one API ("group", "chatroom", "private", "system" or "broadcast"); targets
    are groups, chatrooms or users (a broadcast counts one per request).

    `worst_window_accepted`: most targets accepted in any window of the API's quota (1 s;
    60 s for private messages). `worst_window_arrived`: the same for every arrival.
    `accepted_rate`: accepted targets per second over the span from the first to the last
    accepted arrival (0.0 with fewer than two accepted requests).
    `outcomes`: requests per outcome ("accepted", "rate_limited", "server_error", ...).
    `warnings`: rules relaxed for these requests (the list: `Emulator.warnings()`).
    """

    requests: int
    accepted_requests: int
    accepted_targets: int
    rate_limited: int
    injected_rate_limited: int
    worst_window_accepted: int
    worst_window_arrived: int
    accepted_rate: float
    first_arrival: float | None
    last_arrival: float | None
    outcomes: dict[str, int]
    warnings: int = 0


def summarize(arrivals: Iterable[Arrival], warnings: int = 0, window: float = 1.0) -> ApiStats:
    """The statistics of `arrivals` (one API's, in time order); `warnings`: their count;
    `window`: seconds of the API's quota window."""
    arrived = sorted(arrivals, key=lambda arrival: arrival.time)
    delivered = [(a.time, a.targets) for a in arrived if a.outcome in _DELIVERED]
    outcomes: Counter[str] = Counter(a.outcome for a in arrived)
    span = delivered[-1][0] - delivered[0][0] if len(delivered) > 1 else 0.0
    accepted_targets = sum(targets for _, targets in delivered)
    return ApiStats(
        requests=len(arrived),
        accepted_requests=len(delivered),
        accepted_targets=accepted_targets,
        rate_limited=outcomes["rate_limited"],
        injected_rate_limited=outcomes["injected_rate_limited"],
        worst_window_accepted=worst_window(delivered, window),
        worst_window_arrived=worst_window([(a.time, a.targets) for a in arrived], window),
        accepted_rate=accepted_targets / span if span > 0 else 0.0,
        first_arrival=arrived[0].time if arrived else None,
        last_arrival=arrived[-1].time if arrived else None,
        outcomes=dict(outcomes),
        warnings=warnings,
    )
