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
When the transport reports the whole request written (httpx's trace hook again), `left()`
moves the units once more, to that instant: a pause of the process between `leaving()` and
the write (a garbage collection: 18-22 ms measured in the benchmark client) then delays the
next window's sends as well, instead of squeezing the gap the server sees (it caused the one
429 of a 60 s group run at 20/s).

Lead. A grant is for an instant `lead` seconds ahead (default 3 ms): `acquire` returns early,
the request is built and its connection taken meanwhile, and `leaving()`, awaited as its
headers are about to be written, holds it until its instant (on the real clock the last 1.5
ms are waited by yielding, since timers wake up to 2 ms late). Everything above holds with
"grant" read as "the instant granted": a send never leaves before it. Without the lead each
send left 2-3 ms after its units freed (the head's timer waking late plus building the
request), and since the next window's sends follow that instant, every window lost as much:
measured (`benchmarks/quota_fidelity.py`, chatroom, 30 s runs): from the instant granted to
the bytes leaving, p50 0.01 ms with the lead, against 1.3 ms from grant to leaving before.

Fairness. Requests queue in arrival order whatever their cost (a 3-group send waits its turn;
aiolimiter serves the smallest first and starves it). Strict FIFO wastes quota, though: while a
3-unit head waits for a third unit to expire, two free units idle. So a later request whose cost
fits may go first, but every request can be overtaken by at most `overtake * limit` units of
later ones in total (default: four windows' worth); once that budget is spent nothing that
arrived after it leaves before it. Every request is granted: each overtaking spends at least
one unit of the head's budget, so after finitely many only the head may leave, and it fits
within `span` (plus any pause) because every logged release expires by then. Quota used at
saturation, simulated (`python benchmarks/limiter_simulation.py`: 200 callers, 200 s, sizes
1-3 at 20/s and 1-10 at 100/s; the ceiling with the 10 ms margin is 99.0%), group / chatroom:
strict FIFO 95.6% / 96.0% (heads leave units idle), a budget of one window 98.0% / 98.2%, two
98.4% / 98.5%, four 98.7% / 98.6%, ten 98.9% / 98.9%. Four windows is the trade: a 10-room
send waits at most about four seconds longer than strict FIFO would make it. A stricter rule,
letting a later request go only if it delays no earlier one's reservation (conservative
backfilling), reached just 97.6-98.3%: nearly every idle unit is one that some earlier
reservation within the next window needs.

Pacing. Releases of one quota are at least `interval` apart (default: half the mean interval
per unit, `span / (2 * limit)`, at most 1 ms), so a freed window's worth of quota does not
reach the server as one burst. Every millisecond of pacing delays some release past the
instant its units freed, and the next window's release follows that later instant, so pacing
costs quota for good. Measured (`benchmarks/quota_fidelity.py`, chatroom, three 30 s runs
each): no pacing used 98.5-99.1% of the quota but squeezed arrivals at the server to 1000.4 ms
for a span of 1010 (9.6 of the 10 ms margin gone); 1 ms pacing used 98.6-98.8% and kept them
at 1004-1006.5 ms; 5 ms pacing (the earlier default) 98.2-98.7%. Tried: a burst of 4 or 8
releases before pacing; with grants made at the instant the wait for CPU grew from p99 5 ms to
28-54 ms and no quota was gained.

Cancellation. A waiting task holds only its place in the queue; if it is cancelled its place is
withdrawn before the exception propagates, it took no units, and whoever may go next is woken.

A 429/1008 answer: `pause` holds every sender of the quota until a monotonic deadline, after
which they leave in the same order: the server's Retry-After if it sent one, else a hold that
starts short and grows while 429s go on (`_limit.backoff`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable

import anyio
import anyio.lowlevel

from .._exceptions import InvalidRequestError
from .backoff import Backoff
from .protocol import Quota
from .schedule import Schedule, Ticket

__all__ = ["SlidingWindowLimiter"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

#: Windows' worth of later units that may overtake one waiting request (see "Fairness").
DEFAULT_OVERTAKE = 4.0
#: Seconds kept between two releases of one quota at most (see "Pacing").
MAX_INTERVAL = 0.001
#: Most seconds a send may be granted before its instant (it holds a connection meanwhile).
MAX_LEAD = 0.1
#: Seconds before its instant that a send is granted, to be ready on time (see "Lead").
DEFAULT_LEAD = 0.003
#: On the real clock, the last seconds before an instant are waited by yielding, not by a
#: timer: event loops poll in whole milliseconds, so a timer wakes up to 1-2 ms late.
_SPIN = 0.0015


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
    (default 4.0 = `4 * limit` units; 0 = strict FIFO, which leaves 3-4% of the quota unused).
    `interval`: minimum seconds between two releases of one quota (default `None`: half the
    mean interval per unit, at most 1 ms; 0 = no pacing). Keep it below `window / limit` or
    it caps the rate. `lead`: seconds before a send's instant that `acquire` returns, so the
    request is built and its connection ready when `leaving()` lets it go (see "Lead").
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        overtake: float = DEFAULT_OVERTAKE,
        interval: float | None = None,
        lead: float = DEFAULT_LEAD,
    ) -> None:
        if overtake < 0:
            raise InvalidRequestError("overtake", "must not be negative")
        if interval is not None and interval < 0:
            raise InvalidRequestError("interval", "must not be negative")
        if not 0 <= lead < MAX_LEAD:
            raise InvalidRequestError("lead", f"must be in [0, {MAX_LEAD}) seconds")
        self._timing = _Timing(
            clock or anyio.current_time,
            sleep or _anyio_sleep,
            lead,
            spin=_SPIN if sleep is None else 0.0,  # real timers: they wake late
        )
        self._overtake = overtake
        self._interval = interval
        self._lanes: dict[tuple[str, str], _Lane] = {}

    async def acquire(self, quota: Quota, cost: int) -> _Departure:
        """Wait until `cost` units of `quota` may leave `lead` seconds from now; count them.

        Returns a handle; the caller must await its `leaving()` just before the request's
        bytes go out: it waits for the send's instant, then moves the units to the true one.
        Raises `InvalidRequestError` unless `1 <= cost <= quota.limit`.
        """
        await anyio.lowlevel.checkpoint_if_cancelled()
        lane = self._lane(quota)
        ticket = lane.enqueue(cost)
        return _Departure(lane, ticket, await lane.take(ticket))

    async def pause(self, quota: Quota, seconds: float | None) -> None:
        """Hold every sender of `quota` for `seconds` from now (`None`: after a 429 without
        Retry-After; see `_limit.backoff`)."""
        lane = self._lane(quota)
        lane.pause(seconds)
        await anyio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        """Nothing to release: the state lives in this process."""
        await anyio.lowlevel.checkpoint()

    def count(self, quota: Quota, sends: list[tuple[float, int]]) -> None:
        """Count `sends` ((instant on this limiter's clock, units): sent or bound to leave
        there, decided elsewhere, e.g. by Redis before an outage) in `quota`'s log, so that
        what is granted from now on fits around them."""
        lane = self._lane(quota)
        for instant, cost in sends:
            lane.count(instant, cost)

    def recent(self, quota: Quota) -> list[tuple[float, int]]:
        """The releases this limiter granted for `quota` that still count (instant on its
        clock, units), not those given to it by `count`."""
        lane = self._lanes.get((quota.scope, quota.api))
        return [] if lane is None else lane.recent()

    def _lane(self, quota: Quota) -> _Lane:
        key = (quota.scope, quota.api)
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane(quota, self._schedule(quota), self._timing)
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


class _Timing:
    """The clock and sleep of one limiter, and where its sends stand on them.

    Schedules count in *send instants*: a grant at clock reading `t` is for the instant
    `t + lead`. `until` waits for an instant as exactly as it can: on real timers it sleeps
    until `spin` seconds before, then yields until the instant has come, for at most `spin`
    seconds of `realtime` (a clock that stands still while tasks only yield, as trio's
    autojumping `MockClock` does, then gets an ordinary sleep).
    """

    __slots__ = ("clock", "lead", "realtime", "sleep", "spin")

    def __init__(
        self,
        clock: Clock,
        sleep: Sleep,
        lead: float,
        *,
        spin: float,
        realtime: Clock = time.perf_counter,
    ) -> None:
        self.clock, self.sleep, self.lead = clock, sleep, lead
        self.spin, self.realtime = spin, realtime

    def instant(self) -> float:
        """The send instant of a grant made now."""
        return self.clock() + self.lead

    async def until(self, instant: float) -> None:
        if (left := instant - self.clock()) > self.spin:
            await self.sleep(left - self.spin)
        give_up = self.realtime() + self.spin
        while (left := instant - self.clock()) > 0:
            if self.realtime() < give_up:
                await anyio.lowlevel.checkpoint()
            else:
                await self.sleep(left)


class _Lane:
    """One quota's schedule plus its waiting tasks, on send instants (see `_Timing`).

    Invariant after every change: either the ticket that may leave now has been woken, or the
    head's task sleeps until the next instant the answer can change, or nobody waits.
    """

    def __init__(self, quota: Quota, schedule: Schedule, timing: _Timing) -> None:
        self.quota = quota
        self._schedule = schedule
        self._timing = timing
        self._backoff = Backoff(span=schedule.span, step=quota.margin)
        self._scopes: dict[Ticket, anyio.CancelScope] = {}
        self._timer: tuple[Ticket, float] | None = None

    def enqueue(self, cost: int, *, first: bool = False) -> Ticket:
        try:
            return self._schedule.enqueue(cost, first=first)
        except ValueError as exc:
            raise InvalidRequestError("cost", str(exc)) from exc

    async def take(self, ticket: Ticket) -> float:
        """Wait until the queued `ticket` may be granted and take its units; the send
        instant they were taken for. On cancellation withdraw it (it took nothing)."""
        while (taken := self.try_take(ticket)) is None:
            try:
                await self.wait(ticket)
            except BaseException:
                self.withdraw(ticket)
                raise
        return taken

    def try_take(self, ticket: Ticket) -> float | None:
        """Take the units if `ticket` may be granted at this very moment; their instant."""
        now = self._timing.instant()
        took = self._schedule.pick(now) is ticket
        if took:
            self._schedule.take(ticket, now)
        self._kick(now)
        return now if took else None

    def count(self, instant: float, cost: int) -> None:
        self._schedule.count(instant, cost)
        self._kick(self._timing.instant())

    def recent(self) -> list[tuple[float, int]]:
        return self._schedule.granted(self._timing.clock())

    def withdraw(self, ticket: Ticket) -> None:
        self._schedule.withdraw(ticket)
        self._kick(self._timing.instant())

    async def depart(self, ticket: Ticket, instant: float) -> Ticket:
        """Let the send taken for `instant` go: wait for the instant, then count its units
        from the true one; if they expired meanwhile, take them again first. The ticket
        that holds them in the end."""
        while True:
            await self._timing.until(instant)
            if self._schedule.restamp(ticket, self._timing.clock()):
                self._kick(self._timing.instant())
                return ticket
            ticket = self.enqueue(ticket.cost, first=True)
            instant = await self.take(ticket)

    def gone(self, ticket: Ticket) -> None:
        """The send of `ticket` is out now: count its units from now on."""
        self._schedule.restamp(ticket, self._timing.clock(), force=True)
        self._kick(self._timing.instant())

    def pause(self, seconds: float | None) -> None:
        now = self._timing.clock()
        if seconds is None:
            seconds = self._backoff.hold(now, self._schedule.next_free(now))
        self._schedule.pause_until(now + max(0.0, seconds))  # no send instant before it
        self._kick(self._timing.instant())

    async def wait(self, ticket: Ticket) -> None:
        """Sleep until woken, or until the timer if this ticket holds it."""
        timer = self._timer
        deadline = timer[1] if timer is not None and timer[0] is ticket else math.inf
        with anyio.CancelScope() as scope:
            self._scopes[ticket] = scope
            try:
                await self._timing.sleep(max(0.0, deadline - self._timing.instant()))
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
    """Units taken by one `acquire` for a send instant; `leaving()` lets the send go.

    A request that first waits for a new connection leaves later than its grant; counting
    it from the grant would let the next window's sends reach the server less than a window
    after it (measured: 943 ms apart for sends granted 1,010 ms apart, and a 429).
    """

    __slots__ = ("_instant", "_lane", "_left", "_ticket")

    def __init__(self, lane: _Lane, ticket: Ticket, instant: float) -> None:
        self._lane: _Lane | None = lane
        self._left: _Lane | None = lane
        self._ticket = ticket
        self._instant = instant

    async def leaving(self) -> None:
        """The request is about to be written: wait for its instant, if still ahead, then
        count its units from now. Later calls do nothing.

        If its units expired before it left (a connection that took more than `span` to
        open), nothing checked it against the sends granted since: it waits ahead of every
        queued request until its units fit again, and takes them then. Cancelled while
        waiting, its units stay counted (nothing was sent; the quota errs on the safe side).
        """
        lane, self._lane = self._lane, None
        if lane is not None:
            self._ticket = await lane.depart(self._ticket, self._instant)

    def left(self) -> None:
        """The request's bytes are out: its units count from now (a stall of the process
        between `leaving()` and the write, a garbage collection say, is not lost); once."""
        lane, self._left = self._left, None
        if lane is not None and self._lane is None:
            lane.gone(self._ticket)
