"""Use an existing `aiolimiter.AsyncLimiter` as rongpub's limiter (asyncio only).

Install the extra: `pip install 'rongpub[aiolimiter]'`. Then
`RongCloud(..., limiter=AioLimiterAdapter({"group": my_group_limiter}))`.

Know its worst case before choosing it. `AsyncLimiter(max_rate, time_period)` is a leaky
bucket of capacity `max_rate` that drains at `max_rate / time_period`: it admits up to
capacity + rate units in one 1-second window, nearly twice the quota. Measured on this project's
machine, `AsyncLimiter(20, 1)` let 39 units through one 1 s window, and it serves waiters
smallest-first, so an `acquire(3)` queued first waited behind 29 later `acquire(1)`s.
`benchmarks/quota_fidelity.py` measures it against a strict server beside rongpub's own
`SlidingWindowLimiter`, which never exceeds the limit in any window and keeps arrival order.
This adapter exists for code that already shares an `AsyncLimiter` with other work.
"""

from ._limit.aiolimiter import (
    AioLimiterAdapter,
)

__all__ = [
    "AioLimiterAdapter",
]
