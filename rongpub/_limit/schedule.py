"""The pure scheduling core of the in-process limiter: who may leave now, and when to look again.

No clocks, no tasks: every method takes the current time `now` (seconds, monotonic) from the
caller, so the rules can be tested and simulated exactly. `_limit.sliding_log` adds the waiting.

State of one quota:
- the log: `(left_at, ticket)` of every release in the last `span` seconds, oldest first
  (appends, removals from both ends, and scans from the newest end: no operation sorts it);
- the queue: waiting tickets in arrival order, each counting the units that overtook it;
- the instant of the last release (for pacing) and a pause deadline (after a 429).

`pick(now)` answers "which ticket may leave now?":
1. nothing leaves while paused, or sooner than `interval` after the previous release;
2. the head of the queue leaves as soon as its cost fits: `used + cost <= limit`;
3. otherwise the largest later ticket (the oldest among equals) whose cost fits may leave first,
   but only if no ticket it would overtake has then been overtaken by more than `overtake`
   units in total (its *budget*).

Lanes: the order of rules 2 and 3 is not the arrival order but the *lane order*: every waiting
"interactive" ticket (arrival order) before every "bulk" one, except that the oldest bulk
ticket goes first (unpaced) while bulk holds less than `bulk_share` of the window's units;
only tickets of the head's lane may overtake it, none while bulk goes first by its share.
A bulk release of `c` units lets the next bulk one leave only `c * span / limit` later (bulk
pacing): a fan-out's units then expire all through each window, and an interactive send
finds one free soon, instead of a window's worth freed at once a window after a burst.

Rule 2 is the exact log: the caller records a release at the instant it really happens, so
every release is checked against the window `(now - span, now]` that ends at it. Rule 3 exists
because strict FIFO wastes quota: while a 3-unit head waits for a third unit to expire, the two
free units sit idle. Letting small later sends use them, within a budget, recovers that quota
without starving anyone (see `SlidingWindowLimiter` for the argument and the figures). Taking
the largest that fits fills the idle units in one release and keeps small sends from jumping
the queue more often than they must.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass

from .protocol import Lane

__all__ = ["Schedule", "Ticket"]


@dataclass(eq=False)
class Ticket:
    """One waiting request: its `cost` in units and how many later units went before it."""

    cost: int
    overtaken: int = 0
    counted: bool = False  # logged by `count`: granted elsewhere
    lane: Lane = "interactive"
    first: bool = False  # granted before, its units expired: ahead of both lanes

    @property
    def bulk(self) -> bool:
        """In the bulk lane's order (a `first` ticket never is)."""
        return self.lane == "bulk" and not self.first


class Schedule:
    """Quota bookkeeping for one (app key, API): an exact log of releases plus a FIFO queue.

    `limit`: units per window. `span`: seconds a release counts (window + margin).
    `overtake`: units of later requests that may go ahead of any one waiting request
    (0 = strict FIFO). `interval`: minimum seconds between two releases (pacing).
    `bulk_share`: least share of `limit` the bulk lane keeps while both lanes wait.
    """

    def __init__(
        self,
        *,
        limit: int,
        span: float,
        overtake: int,
        interval: float,
        bulk_share: float = 0.0,
    ) -> None:
        self.limit = limit
        self.span = span
        self.overtake = overtake
        self.interval = interval
        self.bulk_units = math.ceil(bulk_share * limit)
        self._bulk_next = -math.inf
        self._log: deque[tuple[float, Ticket]] = deque()
        self._used = 0
        self._queue: list[Ticket] = []
        self._last = -math.inf
        self._paused_until = -math.inf

    @property
    def head(self) -> Ticket | None:
        """The oldest waiting ticket, if any."""
        return self._queue[0] if self._queue else None

    @property
    def waiting(self) -> int:
        """Number of tickets in the queue."""
        return len(self._queue)

    def used(self, now: float) -> int:
        """Units released in the window `(now - span, now]`."""
        self._expire(now)
        return self._used

    def enqueue(self, cost: int, *, lane: Lane = "interactive", first: bool = False) -> Ticket:
        """Queue a request of `cost` units (1 to `limit`) behind every earlier one, or ahead
        of all of them when `first` (a granted request whose units expired before it left)."""
        if not 1 <= cost <= self.limit:
            raise ValueError(f"cost must be between 1 and the limit {self.limit}, not {cost}")
        ticket = Ticket(cost, lane=lane, first=first)
        if first:
            self._queue.insert(0, ticket)
        else:
            self._queue.append(ticket)
        return ticket

    def withdraw(self, ticket: Ticket) -> None:
        """Forget a ticket that will not leave (its task was cancelled); it took no units."""
        self._queue.remove(ticket)

    def pause_until(self, deadline: float) -> None:
        """Release nothing before `deadline` (a later pause extends an earlier one)."""
        self._paused_until = max(self._paused_until, deadline)

    def pick(self, now: float) -> Ticket | None:
        """The ticket that may leave at `now` under the rules above, or None."""
        if not self._queue or now < self._paused_until or now < self._last + self.interval:
            return None
        free = self.limit - self.used(now)
        order = self.order(now)
        head = order[0]
        by_share = head.bulk and not all(ticket.bulk for ticket in order)
        if head.cost <= free and (by_share or self._ready(head, now)):
            return head
        if by_share:
            return None  # bulk goes first by its share, unpaced: nobody overtakes it
        return self._overtaker(order, free, now)

    def order(self, now: float) -> list[Ticket]:
        """The waiting tickets in lane order (see the module)."""
        queue = self._queue
        bulk = [ticket for ticket in queue if ticket.bulk]
        if not bulk or len(bulk) == len(queue):
            return queue
        ahead = [ticket for ticket in queue if not ticket.bulk]
        if self._bulk_used(now) < self.bulk_units:
            return [bulk[0], *ahead, *bulk[1:]]
        return ahead + bulk

    def take(self, ticket: Ticket, now: float) -> None:
        """Record that `ticket` left at `now` (the instant it really did); `now` never decreases."""
        order = self.order(now)
        for earlier in order[: order.index(ticket)]:
            earlier.overtaken += ticket.cost
        self._queue.remove(ticket)
        self._insert(now, ticket)
        self._last = now
        if ticket.lane == "bulk":
            self._bulk_next = now + ticket.cost * self.span / self.limit

    def estimate(self, ticket: Ticket, now: float) -> float:
        """The instant `ticket` would leave if the tickets ahead of it in lane order left in
        that order as soon as they fit, and none came: no overtaking, no later arrival."""
        self._expire(now)
        expiries = [(at + self.span, entry.cost) for at, entry in self._log]  # sorted: a heap
        used, at, bulk_next = self._used, max(now, self._paused_until), self._bulk_next
        order = self.order(now)
        for waiting in order[: order.index(ticket) + 1]:
            if waiting.bulk:
                at = max(at, bulk_next)
            while expiries and (expiries[0][0] <= at or used + waiting.cost > self.limit):
                expiry, cost = heapq.heappop(expiries)
                at, used = max(at, expiry), used - cost
            heapq.heappush(expiries, (at + self.span, waiting.cost))
            used += waiting.cost
            if waiting.lane == "bulk":
                bulk_next = at + waiting.cost * self.span / self.limit
        return at

    def count(self, at: float, cost: int) -> None:
        """Log `cost` units released at `at` by someone else (e.g. the shared limiter before
        an outage), even in the future: a logged instant counts in every window holding it,
        and it counts from now until it has expired, which errs on the safe side."""
        self._insert(at, Ticket(cost, counted=True))

    def granted(self, now: float) -> list[tuple[float, int]]:
        """(instant, units) of the releases taken here (not `count`ed) that still count."""
        self._expire(now)
        return [(at, ticket.cost) for at, ticket in self._log if not ticket.counted]

    def _insert(self, at: float, ticket: Ticket) -> None:
        self._place(at, ticket)
        self._used += ticket.cost

    def _place(self, at: float, ticket: Ticket) -> None:
        """Put an entry in time order. Nearly always it is the latest (an append); an instant
        counted ahead of now moves later ones by a scan from the right, never a sort: a log of
        6,000 entries (the private quota, one user a send) costs what one of 20 does."""
        log = self._log
        index = len(log)
        while index and log[index - 1][0] > at:
            index -= 1
        if index == len(log):
            log.append((at, ticket))
        else:
            log.insert(index, (at, ticket))

    def _find(self, ticket: Ticket) -> int | None:
        """Where `ticket` is in the log, searched from the newest end (a send is restamped
        moments after it was taken, so only the sends taken since stand after it)."""
        log = self._log
        for index in range(len(log) - 1, -1, -1):
            if log[index][1] is ticket:
                return index
        return None

    def restamp(self, ticket: Ticket, now: float, *, force: bool = False) -> bool:
        """`ticket`, taken earlier, really leaves at `now` (e.g. after opening a connection).

        Its units count from `now` on: windows that end before `now` lose them (they were
        checked with them, so stay within the limit) and later releases are checked against
        the true instant, which keeps their arrivals a full span apart from this one.
        Returns False, changing nothing, when its units expired already (it leaves `span` or
        more after it was taken): nothing checked it against the releases since, so it must
        be taken again (`enqueue(cost, first=True)`); with `force` (its bytes are out already,
        nothing can be taken back) it is counted again from `now`.
        """
        self._expire(now)
        index = self._find(ticket)
        if index is None and not force:
            return False
        if index is None:
            self._used += ticket.cost
        else:
            del self._log[index]
        self._place(now, ticket)
        if ticket.lane == "bulk":  # later than granted: keep the bulk lane's pacing
            self._bulk_next = max(self._bulk_next, now + ticket.cost * self.span / self.limit)
        return True

    def next_free(self, now: float) -> float:
        """The instant the oldest release in the log expires (`now` when the log is empty)."""
        self._expire(now)
        return self._log[0][0] + self.span if self._log else now

    def next_change(self, now: float) -> float:
        """The earliest instant after `now` at which `pick` may answer differently on its own
        (a release expiring, the pacing gap or a pause ending); `inf` when nobody waits."""
        if not self._queue:
            return math.inf
        gate = max(self._paused_until, self._last + self.interval)
        if gate > now:
            return gate
        self._expire(now)
        changes = [self._log[0][0] + self.span] if self._log else []
        if self._bulk_next > now and any(ticket.bulk for ticket in self._queue):
            changes.append(self._bulk_next)
        return min(changes, default=now)

    def _ready(self, ticket: Ticket, now: float) -> bool:
        """Not held back by the bulk lane's pacing."""
        return not ticket.bulk or now >= self._bulk_next

    def _bulk_used(self, now: float) -> int:
        """Units of bulk releases in the window `(now - span, now]`."""
        self._expire(now)
        return sum(entry.cost for _, entry in self._log if entry.lane == "bulk")

    def _overtaker(self, order: list[Ticket], free: int, now: float) -> Ticket | None:
        """The largest later ticket of the head's lane that fits in `free` units and in the
        budget of every ticket ahead of it, and is ready; the oldest among equals."""
        best: Ticket | None = None
        head = order[0]
        budget = self.overtake - head.overtaken
        for ticket in order[1:]:
            room = min(free, budget)
            if room < 1 or ticket.bulk != head.bulk:
                break
            if not self._ready(ticket, now):
                break  # (bulk pacing holds every bulk ticket alike)
            if ticket.cost <= room and (best is None or ticket.cost > best.cost):
                best = ticket
                if ticket.cost == room:  # room only shrinks further back: none fits better
                    break
            budget = min(budget, self.overtake - ticket.overtaken)
        return best

    def _expire(self, now: float) -> None:
        # A release at t counts in every window (x - span, x] with t <= x < t + span.
        log = self._log
        while log and log[0][0] + self.span <= now:
            self._used -= log.popleft()[1].cost
