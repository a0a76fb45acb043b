"""Hypothesis: SlidingWindowLimiter's guarantees over random arrivals, sizes, cancellations,
pauses, late timers and late departures (a request re-dated when its bytes leave, as after
opening a connection), on asyncio and on trio (virtual time, nothing sleeps for real); with
the 1 s window of most quotas and the 60 s window of the private quota (issue #18)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from functools import partial

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rongpub import Quota
from rongpub._limit.backoff import MIN_STEP
from rongpub._limit.sliding_log import SlidingWindowLimiter
from rongpub._limit.virtual_time import FakeTime

EPSILON = 1e-9  # float slack at window edges


@dataclass(frozen=True)
class Request:
    arrival: float
    cost: int
    cancel_after: float | None
    depart_after: float | None  # None: leaving() right away with a lead, else never called
    written_after: float  # from leaving() to left(): the bytes going out


@dataclass(frozen=True)
class Scenario:
    limit: int
    margin: float
    overtake: float
    interval: float | None
    lead: float
    lateness: float
    seed: int
    requests: list[Request]
    pauses: list[tuple[float, float | None]]
    window: float = 1.0

    @property
    def span(self) -> float:
        return self.window + self.margin


@dataclass
class Trace:
    """What happened, in order: ("enqueue" | "grant" | "depart" | "cancel", request, time)."""

    events: list[tuple[str, int, float]] = field(default_factory=list)
    pauses: list[tuple[float, float]] = field(default_factory=list)

    def index(self, kind: str, request: int) -> int | None:
        for position, (k, r, _) in enumerate(self.events):
            if k == kind and r == request:
                return position
        return None


@st.composite
def scenarios(draw: st.DrawFn, window: float = 1.0, most: int = 12) -> Scenario:
    """Times scale with `window`: arrivals over 3 windows, departures up to past expiry."""
    limit = draw(st.integers(1, most))
    times = st.floats(0, 3 * window, allow_nan=False)
    request = st.builds(
        Request,
        times,
        st.integers(1, limit),
        st.none() | st.floats(0, 2 * window, allow_nan=False),
        st.none() | st.floats(0, 2.5 * window, allow_nan=False),  # up to past its expiry
        st.sampled_from([0.0, 0.0, 0.02, 0.3]),
    )
    holds = st.none() | st.floats(0, 1.5 * window, allow_nan=False)
    return Scenario(
        window=window,
        limit=limit,
        margin=draw(st.sampled_from([0.0, 0.01, 0.25])),
        overtake=draw(st.sampled_from([0.0, 0.5, 1.0, 2.0])),
        interval=draw(st.sampled_from([0.0, None, 0.05])),
        lead=draw(st.sampled_from([0.0, 0.003, 0.05])),
        lateness=draw(st.sampled_from([0.0, 0.003, 0.05])),
        seed=draw(st.integers(0, 2**16)),
        requests=draw(st.lists(request, min_size=1, max_size=25)),
        pauses=draw(st.lists(st.tuples(times, holds), max_size=2)),
    )


async def play(scenario: Scenario) -> Trace:
    rng = random.Random(scenario.seed)
    fake = FakeTime(lateness=lambda: rng.uniform(0.0, scenario.lateness))
    limiter = SlidingWindowLimiter(
        clock=fake.clock,
        sleep=fake.sleep,
        overtake=scenario.overtake,
        interval=scenario.interval,
        lead=scenario.lead,
    )
    quota = Quota("app", "group", scenario.limit, scenario.margin, scenario.window)
    trace = Trace()

    async def send(index: int, request: Request, scope: anyio.CancelScope) -> None:
        await fake.sleep(request.arrival)
        with scope:
            trace.events.append(("enqueue", index, fake.now))
            departure = await limiter.acquire(quota, request.cost)
            trace.events.append(("grant", index, fake.now))
        if scope.cancelled_caught:
            trace.events.append(("cancel", index, fake.now))
        elif request.depart_after is not None or scenario.lead:
            await fake.sleep(request.depart_after or 0.0)
            await departure.leaving()
            await fake.sleep(request.written_after)
            departure.left()
            trace.events.append(("depart", index, fake.now))

    async def cancel(at: float, scope: anyio.CancelScope) -> None:
        await fake.sleep(at)
        scope.cancel()

    async def pause(at: float, hold: float | None) -> None:
        await fake.sleep(at)
        # without Retry-After the limiter chooses; it holds at least a margin's worth
        trace.pauses.append((fake.now, max(scenario.margin, MIN_STEP) if hold is None else hold))
        await limiter.pause(quota, hold)

    async with anyio.create_task_group() as group:
        for index, request in enumerate(scenario.requests):
            scope = anyio.CancelScope()
            fake.spawn(group, partial(send, index, request, scope))
            if request.cancel_after is not None:
                at = request.arrival + request.cancel_after
                fake.spawn(group, partial(cancel, at, scope))
        for at, hold in scenario.pauses:
            fake.spawn(group, partial(pause, at, hold))
        await fake.run(limit=1e4 * scenario.window)
    return trace


def check_no_window_over_the_limit(scenario: Scenario, trace: Trace) -> None:
    """Counted at the instant each request really left: its departure, else its grant."""
    left = {r: t for k, r, t in trace.events if k == "grant"}
    left.update({r: t for k, r, t in trace.events if k == "depart"})
    sends = [(t, scenario.requests[r].cost) for r, t in left.items()]
    for x, _ in sends:
        held = sum(cost for t, cost in sends if x - scenario.span + EPSILON < t <= x)
        assert held <= scenario.limit, f"{held} units in the window ending at {x}"


def check_everyone_is_granted_or_cancelled(scenario: Scenario, trace: Trace) -> None:
    for index, request in enumerate(scenario.requests):
        granted = trace.index("grant", index) is not None
        cancelled = trace.index("cancel", index) is not None
        assert granted != cancelled
        if request.cancel_after is None:
            assert granted


def check_overtaking_budget(scenario: Scenario, trace: Trace) -> None:
    """For every granted request. (A cancelled one may be noted as cancelled after later
    grants: trio delivers a cancellation at a checkpoint that lets other tasks run first.)"""
    budget = math.floor(scenario.overtake * scenario.limit)
    for index in range(len(scenario.requests)):
        start = trace.index("enqueue", index)
        end = trace.index("grant", index)
        if end is None:
            continue
        assert start is not None

        def later(other: int, start: int = start) -> bool:
            arrived = trace.index("enqueue", other)
            return arrived is not None and arrived > start

        overtaken = sum(
            scenario.requests[r].cost
            for k, r, _ in trace.events[start + 1 : end]
            if k == "grant" and later(r)
        )
        assert overtaken <= budget, f"request {index} overtaken by {overtaken} > {budget} units"


def check_pauses_hold_everyone(scenario: Scenario, trace: Trace) -> None:
    """Nothing granted after a pause began leaves before it ends."""
    granted = {r: t for k, r, t in trace.events if k == "grant"}
    left = {**granted, **{r: t for k, r, t in trace.events if k == "depart"}}
    for at, hold in trace.pauses:
        for request, t in granted.items():
            if t > at + EPSILON:
                assert left[request] >= at + hold - EPSILON


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios())
def test_limiter_guarantees(backend: str, scenario: Scenario) -> None:
    trace = anyio.run(play, scenario, backend=backend)
    check_everyone_is_granted_or_cancelled(scenario, trace)
    check_no_window_over_the_limit(scenario, trace)
    check_overtaking_budget(scenario, trace)
    check_pauses_hold_everyone(scenario, trace)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(window=60.0, most=40))
def test_limiter_guarantees_with_a_60_s_window(backend: str, scenario: Scenario) -> None:
    """The private quota's window: the same guarantees, counted over 60 s + margin."""
    trace = anyio.run(play, scenario, backend=backend)
    check_everyone_is_granted_or_cancelled(scenario, trace)
    check_no_window_over_the_limit(scenario, trace)
    check_overtaking_budget(scenario, trace)
    check_pauses_hold_everyone(scenario, trace)
