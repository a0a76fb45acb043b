"""What a `RedisLimiter` counted while it ran, for tests and benchmarks (never decides)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RedisStats"]


@dataclass
class RedisStats:
    """Counters of one `RedisLimiter` (`limiter.stats`), since it was made.

    `moved`: sends that came too late for their booking and left at once, counted from then;
    `rebooked`: such sends booked again instead (the quota was paused); `late_writes`: sends
    written later than the slack (reported to Redis); `crowded`: this process's bookings
    that a late send moved later; `heard`: moves of this process's bookings heard over
    pub/sub; `clock_reads`: reads of Redis's clock alone; `reregistered`: bookings
    registered again after Redis lost the log or after an outage.
    """

    moved: int = 0
    rebooked: int = 0
    late_writes: int = 0
    crowded: int = 0
    heard: int = 0
    clock_reads: int = 0
    reregistered: int = 0
