"""`SlidingWindowLimiter`: the in-process limiter, an exact log of what left in the last window.

Invariant: for each quota, no window of `window + margin` seconds on the monotonic clock holds
releases of more than `limit` units. A release is recorded at the instant its task really
runs (re-dated by `Departure.leaving()` / `left()` to when its bytes go out) and allowed only
if the log of the last `window + margin` plus its cost fits the limit; a send leaving more than
a span after its grant is granted again. Requests queue in arrival order, each overtaken by at
most `overtake * limit` units of later ones; releases are paced `interval` apart; a cancelled
waiter takes no units; `pause` holds every sender after a 429. Lanes: a waiting interactive
request goes before every waiting bulk one, bulk keeps `bulk_share` and is paced (`Schedule`);
`max_wait` refuses at once a wait estimated longer, and withdraws a wait that grew longer.

The argument, the measurements behind each default, and what was tried: docs/design/limiter.md."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable

import anyio
import anyio.lowlevel

from .._exceptions import InvalidRequestError, QuotaWaitTooLongError
from .backoff import Backoff
from .protocol import Lane, Quota
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
        self._lines: dict[tuple[str, str], _Line] = {}

    async def acquire(
        self,
        quota: Quota,
        cost: int,
        *,
        lane: Lane = "interactive",
        max_wait: float | None = None,
    ) -> _Departure:
        """Wait until `cost` units of `quota` may leave `lead` seconds from now; count them.

        Returns a handle; the caller must await its `leaving()` just before the request's
        bytes go out: it waits for the send's instant, then moves the units to the true one.
        `lane`: interactive goes before bulk (see `Schedule`). `max_wait`: seconds; raises
        `QuotaWaitTooLongError`, taking nothing, at once when the wait estimated from the
        queue ahead (`Schedule.estimate`) is longer, else once `max_wait` has passed.
        Raises `InvalidRequestError` unless `1 <= cost <= quota.limit`.
        """
        if lane not in ("interactive", "bulk"):
            raise InvalidRequestError("lane", f"{lane!r}; pass 'interactive' or 'bulk'")
        if max_wait is not None and not max_wait >= 0:
            raise InvalidRequestError("max_wait", "must be at least 0 seconds, or None")
        await anyio.lowlevel.checkpoint_if_cancelled()
        line = self._line(quota)
        ticket = line.enqueue(cost, lane=lane)
        return _Departure(line, ticket, await line.take(ticket, max_wait))

    async def pause(self, quota: Quota, seconds: float | None) -> None:
        """Hold every sender of `quota` for `seconds` from now (`None`: after a 429 without
        Retry-After; see `_limit.backoff`)."""
        line = self._line(quota)
        line.pause(seconds)
        await anyio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        """Nothing to release: the state lives in this process."""
        await anyio.lowlevel.checkpoint()

    def count(self, quota: Quota, sends: list[tuple[float, int]]) -> None:
        """Count `sends` ((instant on this limiter's clock, units): sent or bound to leave
        there, decided elsewhere, e.g. by Redis before an outage) in `quota`'s log, so that
        what is granted from now on fits around them."""
        line = self._line(quota)
        for instant, cost in sends:
            line.count(instant, cost)

    def recent(self, quota: Quota) -> list[tuple[float, int]]:
        """The releases this limiter granted for `quota` that still count (instant on its
        clock, units), not those given to it by `count`."""
        line = self._lines.get((quota.scope, quota.api))
        return [] if line is None else line.recent()

    def _line(self, quota: Quota) -> _Line:
        key = (quota.scope, quota.api)
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = _Line(quota, self._schedule(quota), self._timing)
        elif line.quota != quota:
            raise InvalidRequestError(
                "quota",
                f"the {quota.api} quota of this app key is already counted as "
                f"{line.quota.limit} per {line.quota.window} s; one limiter keeps one limit",
            )
        return line

    def _schedule(self, quota: Quota) -> Schedule:
        span = quota.window + quota.margin
        return Schedule(
            limit=quota.limit,
            span=span,
            overtake=math.floor(self._overtake * quota.limit),
            interval=min(MAX_INTERVAL, span / (2 * quota.limit))
            if self._interval is None
            else self._interval,
            bulk_share=quota.bulk_share,
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


class _Line:
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

    def enqueue(self, cost: int, *, lane: Lane = "interactive", first: bool = False) -> Ticket:
        try:
            return self._schedule.enqueue(cost, lane=lane, first=first)
        except ValueError as exc:
            raise InvalidRequestError("cost", str(exc)) from exc

    async def take(self, ticket: Ticket, max_wait: float | None = None) -> float:
        """Wait until the queued `ticket` may be granted and take its units; the send
        instant they were taken for. On cancellation, or past `max_wait`, withdraw it (it
        took nothing)."""
        due = math.inf
        if max_wait is not None:
            now = self._timing.instant()
            if (wait := self._schedule.estimate(ticket, now) - now) > max_wait:
                self.withdraw(ticket)
                raise QuotaWaitTooLongError(api=self.quota.api, wait=wait, max_wait=max_wait)
            due = now + max_wait
        while (taken := self.try_take(ticket)) is None:
            if max_wait is not None and (now := self._timing.instant()) >= due:
                wait = max_wait + max(0.0, self._schedule.estimate(ticket, now) - now)
                self.withdraw(ticket)
                raise QuotaWaitTooLongError(api=self.quota.api, wait=wait, max_wait=max_wait)
            try:
                await self.wait(ticket, due)
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
            ticket = self.enqueue(ticket.cost, lane=ticket.lane, first=True)
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

    async def wait(self, ticket: Ticket, due: float = math.inf) -> None:
        """Sleep until woken, `due`, or the timer if this ticket holds it."""
        timer = self._timer
        deadline = timer[1] if timer is not None and timer[0] is ticket else math.inf
        deadline = min(deadline, due)
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

    __slots__ = ("_instant", "_left", "_line", "_ticket")

    def __init__(self, line: _Line, ticket: Ticket, instant: float) -> None:
        self._line: _Line | None = line
        self._left: _Line | None = line
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
        line, self._line = self._line, None
        if line is not None:
            self._ticket = await line.depart(self._ticket, self._instant)

    def left(self) -> None:
        """The request's bytes are out: its units count from now (a stall of the process
        between `leaving()` and the write, a garbage collection say, is not lost); once."""
        line, self._left = self._left, None
        if line is not None and self._line is None:
            line.gone(self._ticket)
