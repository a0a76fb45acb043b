"""`SlidingWindowLimiter`: the in-process limiter, an exact log of what left in the last window.

The guarantee. For each quota (app key, API), no window of `window + margin` seconds, anywhere
on the client's monotonic clock, holds releases of more than `limit` units; hence no 1-second
window at the server, fixed or sliding, holds more than `limit`, provided the delay from
release to arrival varies by less than `margin`. Argument: a release is recorded at the clock
reading of the moment its task really runs (after any late timer wake-up), and it is allowed only
if the releases in `(now - span, now]` plus its own cost fit in `limit` (`span = window +
margin`). Releases are recorded in time order, so for any window, its last release `x` was
checked against `(x - span, x]`, which contains every other release of that window. The bound
is therefore independent of how late timers fire or how tasks interleave; lateness only costs
throughput (about `delay / span` per late wake), never safety.

Departures. `acquire` returns a handle whose `leaving()` re-dates the release to the instant its
bytes go out (the client calls it from httpx's trace hook, after any new connection opened). The
bound then holds for those true instants as long as every send leaves within `span` of its grant:
until then its units stay in the log, so of two sends less than `span` apart (by true instants),
the one granted later was checked with the other in the log, and the last one granted in any
window was checked with all the others. A send that leaves later than that (its connection took
over a second) was checked against nothing granted since its units expired, so `leaving()` waits:
the send queues ahead of everyone and is granted again, from its true instant, once it fits.

Fairness. Requests queue in arrival order whatever their cost (a 3-group send waits its turn;
aiolimiter serves the smallest first and starves it). Strict FIFO wastes quota, though: while a
3-unit head waits for a third unit to expire, two free units idle. So a later request whose cost
fits may go first, but every request can be overtaken by at most `overtake * limit` units of
later ones in total (default: two windows' worth); once that budget is spent nothing that
arrived after it leaves before it. Every request is granted: each overtaking spends at least
one unit of the head's budget, so after finitely many only the head may leave, and it fits
within `span` (plus any pause) because every logged release expires by then. Measured by
simulating this code on virtual time (200 callers, 300 s, timers 0.2-1.5 ms late, sizes 1-3 at
20/s and 1-10 at 100/s), as a share of `limit / span`: strict FIFO 95.8% / 96.7% (heads leave
units idle), a budget of one window 99.1% / 99.1%, of two windows 99.4% / 99.3%. A stricter
rule, letting a later request go only if it delays no earlier one's reservation (conservative
backfilling), reached just 97.6-98.3%: with paced releases nearly every idle unit is one that
some earlier reservation within the next window needs, so with the margin it misses 98%.

Pacing. Releases of one quota are at least `interval` apart (default: half the mean interval
per unit, `span / (2 * limit)`, at most 5 ms), so a freed window's worth of quota trickles out
instead of leaving at once (requests released together queue for CPU inside the client and
reach the server smeared over tens of milliseconds); a few milliseconds let each request's own
CPU work finish before the next is released. Tried and measured: letting up to 4 or 8 releases
go back to back before pacing (a GCRA burst) gained quota in simulation, but on the real client
the grant-to-write delay grew from p99 5 ms to 28-54 ms and the quota used did not rise.

Cancellation. A waiting task holds only its place in the queue; if it is cancelled its place is
withdrawn before the exception propagates, it took no units, and whoever may go next is woken.

A 429/1008 answer: `pause` holds every sender of the quota until a monotonic deadline (the
server's Retry-After, else one `span`), after which they leave in the same order.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

import anyio
import anyio.lowlevel

from ._exceptions import InvalidRequestError
from ._limiter import Quota
from ._schedule import Schedule, Ticket

__all__ = ["SlidingWindowLimiter"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

#: Windows' worth of later units that may overtake one waiting request (see "Fairness").
DEFAULT_OVERTAKE = 2.0
#: Seconds kept between two releases of one quota at most (see "Pacing").
MAX_INTERVAL = 0.005


async def _anyio_sleep(seconds: float) -> None:
    if math.isinf(seconds):
        await anyio.sleep_forever()
    else:
        await anyio.sleep(seconds)


class SlidingWindowLimiter:
    """Keeps every quota under its limit in any window, FIFO with a bounded overtaking budget.

    One instance serves any number of tasks and quotas (state is kept per app key and API).
    Works under asyncio and trio.

    `clock`: monotonic seconds (default: the event loop's, `anyio.current_time`).
    `sleep`: `await sleep(seconds)`, cancellable, `math.inf` meaning until cancelled
    (default: `anyio.sleep`). Inject both to drive the limiter on a fake clock.
    `overtake`: windows' worth of later units that may go ahead of one waiting request
    (default 2.0 = `2 * limit` units; 0 = strict FIFO, which leaves 3-4% of the quota unused).
    `interval`: minimum seconds between two releases of one quota (default `None`: half the
    mean interval per unit, at most 5 ms; 0 = no pacing). Keep it below `window / limit` or
    it caps the rate.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        overtake: float = DEFAULT_OVERTAKE,
        interval: float | None = None,
    ) -> None:
        if overtake < 0:
            raise InvalidRequestError("overtake", "must not be negative")
        if interval is not None and interval < 0:
            raise InvalidRequestError("interval", "must not be negative")
        self._clock = clock or anyio.current_time
        self._sleep = sleep or _anyio_sleep
        self._overtake = overtake
        self._interval = interval
        self._lanes: dict[tuple[str, str], _Lane] = {}

    async def acquire(self, quota: Quota, cost: int) -> _Departure:
        """Wait until `cost` units of `quota` may leave now, and count them as sent now.

        Returns a handle whose `leaving()` moves the units to the instant the request's
        bytes really go out. Raises `InvalidRequestError` unless `1 <= cost <= quota.limit`.
        """
        await anyio.lowlevel.checkpoint_if_cancelled()
        lane = self._lane(quota)
        ticket = await lane.take(lane.enqueue(cost))
        return _Departure(lane, ticket)

    async def pause(self, quota: Quota, seconds: float | None) -> None:
        """Hold every sender of `quota` for `seconds` from now (`None`: one window + margin)."""
        lane = self._lane(quota)
        lane.pause(seconds)
        await anyio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        """Nothing to release: the state lives in this process."""
        await anyio.lowlevel.checkpoint()

    def _lane(self, quota: Quota) -> _Lane:
        key = (quota.scope, quota.api)
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane(quota, self._schedule(quota), self._clock, self._sleep)
        elif lane.quota != quota:
            raise InvalidRequestError(
                "quota",
                f"the {quota.api} quota of this app key is already counted as "
                f"{lane.quota.limit} per {lane.quota.window} s; one limiter keeps one limit",
            )
        return lane

    def _schedule(self, quota: Quota) -> Schedule:
        span = quota.window + quota.margin
        return Schedule(
            limit=quota.limit,
            span=span,
            overtake=math.floor(self._overtake * quota.limit),
            interval=min(MAX_INTERVAL, span / (2 * quota.limit))
            if self._interval is None
            else self._interval,
        )


class _Lane:
    """One quota's schedule plus its waiting tasks.

    Invariant after every change: either the ticket that may leave now has been woken, or the
    head's task sleeps until the next instant the answer can change, or nobody waits.
    """

    def __init__(self, quota: Quota, schedule: Schedule, clock: Clock, sleep: Sleep) -> None:
        self.quota = quota
        self._schedule = schedule
        self._clock = clock
        self._sleep = sleep
        self._scopes: dict[Ticket, anyio.CancelScope] = {}
        self._timer: tuple[Ticket, float] | None = None

    def enqueue(self, cost: int, *, first: bool = False) -> Ticket:
        try:
            return self._schedule.enqueue(cost, first=first)
        except ValueError as exc:
            raise InvalidRequestError("cost", str(exc)) from exc

    async def take(self, ticket: Ticket) -> Ticket:
        """Wait until the queued `ticket` may leave and take its units; on cancellation
        withdraw it (it took nothing)."""
        granted = False
        try:
            while not (granted := self.try_take(ticket)):
                await self.wait(ticket)
        finally:
            if not granted:
                self.withdraw(ticket)
        return ticket

    def try_take(self, ticket: Ticket) -> bool:
        """Take the units if `ticket` may leave at this very instant."""
        now = self._clock()
        took = self._schedule.pick(now) is ticket
        if took:
            self._schedule.take(ticket, now)
        self._kick(now)
        return took

    def withdraw(self, ticket: Ticket) -> None:
        self._schedule.withdraw(ticket)
        self._kick(self._clock())

    def restamp(self, ticket: Ticket) -> bool:
        now = self._clock()
        moved = self._schedule.restamp(ticket, now)
        self._kick(now)
        return moved

    def pause(self, seconds: float | None) -> None:
        now = self._clock()
        hold = self._schedule.span if seconds is None else max(0.0, seconds)
        self._schedule.pause_until(now + hold)
        self._kick(now)

    async def wait(self, ticket: Ticket) -> None:
        """Sleep until woken, or until the timer if this ticket holds it."""
        timer = self._timer
        deadline = timer[1] if timer is not None and timer[0] is ticket else math.inf
        with anyio.CancelScope() as scope:
            self._scopes[ticket] = scope
            try:
                await self._sleep(max(0.0, deadline - self._clock()))
            finally:
                del self._scopes[ticket]

    def _kick(self, now: float) -> None:
        chosen = self._schedule.pick(now)
        if chosen is not None:
            self._timer = None
            self._wake(chosen)
            return
        head = self._schedule.head
        if head is None:
            self._timer = None
            return
        timer = (head, self._schedule.next_change(now))
        if timer != self._timer:
            self._timer = timer
            self._wake(head)  # to sleep again with the new deadline

    def _wake(self, ticket: Ticket) -> None:
        scope = self._scopes.get(ticket)
        if scope is not None:
            scope.cancel()


class _Departure:
    """Units taken by one `acquire`; `leaving()` re-dates them once, when the bytes go out.

    A request that first waits for a new connection leaves later than its grant; counting
    it from the grant would let the next window's sends reach the server less than a window
    after it (measured: 943 ms apart for sends granted 1,010 ms apart, and a 429).
    """

    __slots__ = ("_lane", "_ticket")

    def __init__(self, lane: _Lane, ticket: Ticket) -> None:
        self._lane: _Lane | None = lane
        self._ticket = ticket

    async def leaving(self) -> None:
        """The request is about to be written; later calls do nothing.

        If its units expired before it left (a connection that took more than `span` to
        open), nothing checked it against the sends granted since: it waits ahead of every
        queued request until its units fit again, and takes them then.
        """
        lane, self._lane = self._lane, None
        if lane is not None and not lane.restamp(self._ticket):
            await lane.take(lane.enqueue(self._ticket.cost, first=True))
