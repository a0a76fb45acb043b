"""Lanes and max_wait in SlidingWindowLimiter, on virtual time under asyncio and trio:
hypothesis over random mixed-lane arrivals, cancellations and bounds, and fixed floods."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rongpub import InvalidRequestError, Quota, QuotaWaitTooLongError
from rongpub._limit.sliding_log import SlidingWindowLimiter
from rongpub.testing import FakeTime

EPSILON = 1e-9
LaneName = Literal["interactive", "bulk"]


@dataclass(frozen=True)
class Request:
    arrival: float
    cost: int
    lane: LaneName
    cancel_after: float | None
    max_wait: float | None


@dataclass(frozen=True)
class Scenario:
    limit: int
    margin: float
    overtake: float
    bulk_share: float
    lateness: float
    seed: int
    requests: list[Request]

    @property
    def span(self) -> float:
        return 1.0 + self.margin


@dataclass
class Trace:
    """("enqueue" | "grant" | "cancel" | "refused", request, time), in order."""

    events: list[tuple[str, int, float]] = field(default_factory=list)

    def index(self, kind: str, request: int) -> int | None:
        for position, (k, r, _) in enumerate(self.events):
            if k == kind and r == request:
                return position
        return None


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    limit = draw(st.integers(1, 10))
    request = st.builds(
        Request,
        st.floats(0, 3, allow_nan=False),
        st.integers(1, limit),
        st.sampled_from(["interactive", "bulk"]),
        st.none() | st.floats(0, 2, allow_nan=False),
        st.none() | st.floats(0, 1.5, allow_nan=False),
    )
    return Scenario(
        limit=limit,
        margin=draw(st.sampled_from([0.0, 0.01, 0.25])),
        overtake=draw(st.sampled_from([0.0, 1.0, 4.0])),
        bulk_share=draw(st.sampled_from([0.0, 0.1, 0.5])),
        lateness=draw(st.sampled_from([0.0, 0.003])),
        seed=draw(st.integers(0, 2**16)),
        requests=draw(st.lists(request, min_size=1, max_size=25)),
    )


async def play(scenario: Scenario) -> Trace:
    rng = random.Random(scenario.seed)
    fake = FakeTime(lateness=lambda: rng.uniform(0.0, scenario.lateness))
    limiter = SlidingWindowLimiter(
        clock=fake.clock, sleep=fake.sleep, overtake=scenario.overtake, lead=0.0
    )
    quota = Quota("app", "group", scenario.limit, scenario.margin, bulk_share=scenario.bulk_share)
    trace = Trace()

    async def send(index: int, request: Request, scope: anyio.CancelScope) -> None:
        await fake.sleep(request.arrival)
        with scope:
            trace.events.append(("enqueue", index, fake.now))
            try:
                departure = await limiter.acquire(
                    quota, request.cost, lane=request.lane, max_wait=request.max_wait
                )
            except QuotaWaitTooLongError:
                trace.events.append(("refused", index, fake.now))
                return
            trace.events.append(("grant", index, fake.now))
        if scope.cancelled_caught:
            trace.events.append(("cancel", index, fake.now))
            return
        await departure.leaving()
        departure.left()

    async def cancel(at: float, scope: anyio.CancelScope) -> None:
        await fake.sleep(at)
        scope.cancel()

    async with anyio.create_task_group() as group:
        for index, request in enumerate(scenario.requests):
            scope = anyio.CancelScope()
            fake.spawn(group, partial(send, index, request, scope))
            if request.cancel_after is not None:
                fake.spawn(group, partial(cancel, request.arrival + request.cancel_after, scope))
        await fake.run(limit=1e4)
    return trace


def grants(trace: Trace) -> dict[int, float]:
    return {r: t for k, r, t in trace.events if k == "grant"}


def check_no_window_over_the_limit(scenario: Scenario, trace: Trace) -> None:
    sends = [(t, scenario.requests[r].cost) for r, t in grants(trace).items()]
    for x, _ in sends:
        held = sum(cost for t, cost in sends if x - scenario.span + EPSILON < t <= x)
        assert held <= scenario.limit, f"{held} units in the window ending at {x}"


def bulk_units_before(scenario: Scenario, trace: Trace, position: int) -> int:
    """Bulk units granted in the window ending at the event at `position`, before it."""
    at = trace.events[position][2]
    return sum(
        scenario.requests[r].cost
        for k, r, t in trace.events[:position]
        if k == "grant" and scenario.requests[r].lane == "bulk" and t > at - scenario.span + EPSILON
    )


def check_interactive_never_waits_behind_bulk(scenario: Scenario, trace: Trace) -> None:
    """No bulk grant while an interactive request waits, but by bulk's guaranteed share."""
    share = math.ceil(scenario.bulk_share * scenario.limit)
    waiting: set[int] = set()
    for position, (kind, r, _) in enumerate(trace.events):
        interactive = scenario.requests[r].lane == "interactive"
        if kind == "enqueue" and interactive:
            waiting.add(r)
        elif kind in ("grant", "cancel", "refused"):
            waiting.discard(r)
            if kind == "grant" and not interactive and waiting:
                assert bulk_units_before(scenario, trace, position) < share, (
                    f"bulk request {r} went before waiting interactive ones {sorted(waiting)}"
                )


def check_max_wait(scenario: Scenario, trace: Trace) -> None:
    """Granted within max_wait, or refused at once or when max_wait has passed, taking
    nothing (the window check counts grants only)."""
    for index, request in enumerate(scenario.requests):
        start = trace.index("enqueue", index)
        assert start is not None
        arrived = trace.events[start][2]
        refused = trace.index("refused", index)
        if request.max_wait is None:
            assert refused is None
            continue
        granted = grants(trace).get(index)
        if granted is not None:
            assert granted - arrived <= request.max_wait + scenario.lateness + EPSILON
        if refused is not None:
            waited = trace.events[refused][2] - arrived
            assert waited <= EPSILON or waited >= request.max_wait - EPSILON
            assert granted is None


def check_everyone_settles(scenario: Scenario, trace: Trace) -> None:
    for index, request in enumerate(scenario.requests):
        ends = [trace.index(kind, index) for kind in ("grant", "cancel", "refused")]
        assert sum(end is not None for end in ends) == 1
        if request.cancel_after is None and request.max_wait is None:
            assert ends[0] is not None


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios())
def test_lane_guarantees(backend: str, scenario: Scenario) -> None:
    trace = anyio.run(play, scenario, backend=backend)
    check_everyone_settles(scenario, trace)
    check_no_window_over_the_limit(scenario, trace)
    check_interactive_never_waits_behind_bulk(scenario, trace)
    check_max_wait(scenario, trace)


async def flood(
    quota: Quota, *, interactive: int, bulk: int, seconds: float
) -> tuple[list[tuple[float, str, int]], list[float]]:
    """`interactive` and `bulk` tasks each acquiring over and over for `seconds` (virtual):
    the grants (time, lane, units) and the interactive waits."""
    fake = FakeTime()
    limiter = SlidingWindowLimiter(clock=fake.clock, sleep=fake.sleep, lead=0.0)
    granted: list[tuple[float, str, int]] = []
    waits: list[float] = []

    async def loop(lane: LaneName, cost: int, every: float) -> None:
        while fake.now < seconds:
            since = fake.now
            departure = await limiter.acquire(quota, cost, lane=lane)
            await departure.leaving()
            departure.left()
            granted.append((fake.now, lane, cost))
            if lane == "interactive":
                waits.append(fake.now - since)
            await fake.sleep(every)

    async with anyio.create_task_group() as group:
        for _ in range(bulk):
            fake.spawn(group, partial(loop, "bulk", min(10, quota.limit // 10 or 1), 0.0))
        for task in range(interactive):
            fake.spawn(group, partial(loop, "interactive", 1, 0.5 + task * 0.013))
        await fake.run()
    return granted, waits


@pytest.mark.anyio
@pytest.mark.parametrize(("api", "limit"), [("group", 20), ("chatroom", 100)])
async def test_a_fanout_leaves_interactive_sends_a_short_wait_and_the_quota_full(
    api: str, limit: int
) -> None:
    """Interactive sends at 10% of the quota beside a fan-out keeping it saturated: each
    waits at most the gap between two bulk releases, and the quota stays in use."""
    quota = Quota("app", api, limit, 0.01, bulk_share=0.1)
    granted, waits = await flood(quota, interactive=limit // 20, bulk=40, seconds=20.0)
    pack = min(10, limit // 10 or 1)
    assert max(waits) <= pack * quota.window * 1.01 / limit + 0.005
    late = [units for at, _, units in granted if 5.0 <= at < 15.0]
    assert sum(late) >= 0.97 * limit * 10 / 1.01


@pytest.mark.anyio
async def test_bulk_keeps_its_share_under_an_interactive_flood() -> None:
    quota = Quota("app", "group", 10, 0.0, bulk_share=0.2)
    granted, _ = await flood(quota, interactive=40, bulk=5, seconds=12.0)
    for start in (2.0, 5.0, 8.5):
        bulk = sum(u for at, lane, u in granted if lane == "bulk" and start <= at < start + 1)
        assert bulk >= 2


@pytest.mark.anyio
async def test_without_a_share_an_interactive_flood_holds_bulk_back() -> None:
    quota = Quota("app", "group", 10, 0.0, bulk_share=0.0)
    granted, _ = await flood(quota, interactive=40, bulk=5, seconds=6.0)
    assert not [at for at, lane, _ in granted if lane == "bulk" and 2.0 <= at < 6.0]
    assert [at for at, lane, _ in granted if lane == "bulk" and at >= 6.0]  # then it goes on


@pytest.mark.anyio
async def test_max_wait_refuses_at_once_behind_a_long_queue_taking_nothing() -> None:
    fake = FakeTime()
    limiter = SlidingWindowLimiter(clock=fake.clock, sleep=fake.sleep, lead=0.0)
    quota = Quota("app", "group", 5, 0.0)
    refused: list[QuotaWaitTooLongError] = []

    async def bulk() -> None:
        await limiter.acquire(quota, 1, lane="bulk")

    async def bounded() -> None:
        await fake.sleep(0.5)
        try:
            await limiter.acquire(quota, 1, lane="bulk", max_wait=0.2)
        except QuotaWaitTooLongError as exc:
            assert fake.now == 0.5  # at once: no virtual time passed
            refused.append(exc)

    async with anyio.create_task_group() as group:
        for _ in range(50):
            fake.spawn(group, bulk)
        fake.spawn(group, bounded)
        await fake.run()
    (error,) = refused
    assert error.max_wait == 0.2 and error.retry_after == error.wait
    assert 8.0 <= error.wait <= 10.0  # 45 units queued ahead at 5 per second
    assert error.api == "group"
    assert sum(units for _, units in limiter.recent(quota)) <= 5


@pytest.mark.anyio
async def test_an_interactive_send_with_max_wait_goes_past_the_bulk_queue() -> None:
    fake = FakeTime()
    limiter = SlidingWindowLimiter(clock=fake.clock, sleep=fake.sleep, lead=0.0)
    quota = Quota("app", "group", 5, 0.0)
    waits: list[float] = []

    async def bulk() -> None:
        await limiter.acquire(quota, 1, lane="bulk")

    async def interactive() -> None:
        await fake.sleep(3.05)
        await limiter.acquire(quota, 1, max_wait=0.25)
        waits.append(fake.now - 3.05)

    async with anyio.create_task_group() as group:
        for _ in range(50):
            fake.spawn(group, bulk)
        fake.spawn(group, interactive)
        await fake.run()
    assert waits and waits[0] <= 0.2  # bulk leaves paced 0.2 s apart


@pytest.mark.anyio
async def test_a_cancelled_wait_takes_nothing() -> None:
    """An interactive wait cancelled at 0.3 s leaves the unit freed at 1.0 s to bulk."""
    fake = FakeTime()
    limiter = SlidingWindowLimiter(clock=fake.clock, sleep=fake.sleep, lead=0.0)
    quota = Quota("app", "group", 1, 0.0)
    order: list[tuple[str, float]] = []
    scope = anyio.CancelScope()

    async def first() -> None:
        await limiter.acquire(quota, 1, lane="bulk")

    async def cancelled() -> None:
        await fake.sleep(0.1)
        with scope:
            await limiter.acquire(quota, 1)
            order.append(("interactive", fake.now))
        if scope.cancelled_caught:
            order.append(("gave up", fake.now))

    async def canceller() -> None:
        await fake.sleep(0.3)
        scope.cancel()

    async def bulk() -> None:
        await fake.sleep(0.2)
        await limiter.acquire(quota, 1, lane="bulk")
        order.append(("bulk", fake.now))

    async with anyio.create_task_group() as group:
        for job in (first, cancelled, canceller, bulk):
            fake.spawn(group, job)
        await fake.run()
    assert order == [("gave up", 0.3), ("bulk", 1.0)]


@pytest.mark.anyio
async def test_bad_lane_and_max_wait_are_refused() -> None:
    limiter = SlidingWindowLimiter()
    quota = Quota("app", "group", 5)
    with pytest.raises(InvalidRequestError):
        await limiter.acquire(quota, 1, lane="urgent")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError):
        await limiter.acquire(quota, 1, max_wait=-1.0)
