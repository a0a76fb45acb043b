"""One RongCloud quota shared by every process and host that uses the same app key.

```python
from rongpub import RateLimits, RongCloud
from rongpub.redis import RedisLimiter

client = RongCloud(key, secret, rate_limits=RateLimits(group=20, chatroom=100),
                   limiter=RedisLimiter.from_url("redis://redis:6379/0"))
```

`async with RedisLimiter.from_url(...) as limiter:` runs its background work (the pub/sub
listener, reports of late writes) in a task group of the caller's task; without it the
limiter opens that group itself on first use, and `aclose()` ends it.

Each acquisition is one Lua script run by Redis (`scripts/reserve.lua`): it reads Redis's own
clock (`TIME`), books the units in an exact log of the quota's reservations, and answers how
long to wait. The caller sleeps, waking `lead` seconds early to prepare the request, and the
request leaves on the booked instant (`Departure.leaving()`). No window of `window + margin +
slack` seconds ever holds more than `limit` booked units. Each booking takes the earliest
instant where its units fit without moving one made before, so a later request may use units
that would sit idle before an earlier, larger one's instant, but never makes it wait longer
(conservative backfilling: a 3-group send is never starved by single sends). A send may
leave up to `slack` after its instant; one later than that, or whose request is written
later than that (its process stalled after the check), is counted from when it leaves: one
call re-dates it in Redis and moves the bookings it crowds later, in order, and every limiter
listening on the quota's pub/sub channel waits for the new instants of its own. So no window
of `window + margin` seconds holds more than `limit` units as sends leave, in all processes
together (see `_redis.booking`). A 429 pauses the quota in Redis: no process books an
instant before the pause ends. An interactive acquisition goes before every bulk one queued
more than `notice` ahead, in any process, moving them later (bulk keeps `bulk_share` of each
window while both wait); one whose instant lies over `max_wait` ahead books nothing and
raises `QuotaWaitTooLongError` (docs/design/redis-booking.md#lanes).

Runs on asyncio only: redis-py's asyncio client does not run under trio, so every method
raises `LimiterUnavailableError` there (use the in-process limiter with trio).
If Redis cannot be reached (or does not answer within `timeout`) the limiter fails closed
(`LimiterUnavailableError`) unless a `fallback` limiter is given, which then keeps the quota
inside this process, with a warning; `fallback="local"` starts from this process's bookings
still in the window and hands what it let go back to Redis when Redis answers again. A Redis
that lost the log (restarted empty) is noticed by the log's epoch: each process registers the
bookings it holds again before booking anything new. See docs/redis-faults.md.

`RedisJournal` keeps a fan-out's journal in Redis instead of a local file, so a run killed
on one host resumes on another; one run writes it at a time (a lease with a fencing token).
See docs/guides/redis-journal.md.
"""

from ._redis.journal import (
    DEFAULT_EXPIRE_AFTER,
    DEFAULT_LEASE_TTL,
    DEFAULT_RENEW_INTERVAL,
    JournalCounts,
    RedisJournal,
)
from ._redis.limiter import (
    DEFAULT_LEAD,
    DEFAULT_NAMESPACE,
    DEFAULT_NOTICE,
    DEFAULT_REDIS_TIMEOUT,
    DEFAULT_RETRY_INTERVAL,
    DEFAULT_SHARE,
    DEFAULT_SLACK,
    RedisLimiter,
)
from ._redis.stats import RedisStats

__all__ = [
    "DEFAULT_EXPIRE_AFTER",
    "DEFAULT_LEAD",
    "DEFAULT_LEASE_TTL",
    "DEFAULT_NAMESPACE",
    "DEFAULT_NOTICE",
    "DEFAULT_REDIS_TIMEOUT",
    "DEFAULT_RENEW_INTERVAL",
    "DEFAULT_RETRY_INTERVAL",
    "DEFAULT_SHARE",
    "DEFAULT_SLACK",
    "JournalCounts",
    "RedisJournal",
    "RedisLimiter",
    "RedisStats",
]
