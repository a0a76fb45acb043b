"""Units are counted from the instant the request really leaves, not from the grant."""

from __future__ import annotations

from functools import partial

import anyio
import httpx
import pytest

from rongpub import Quota, RateLimits, RongCloud, TextMessage
from rongpub._limit.schedule import Schedule
from rongpub._limit.sliding_log import SlidingWindowLimiter
from rongpub._limit.virtual_time import FakeTime
from rongpub._transport import traces_writes
from rongpub.emulator import Emulator, serve


def schedule() -> Schedule:
    return Schedule(limit=2, span=1.0, overtake=0, interval=0.0)


def test_a_late_departure_holds_its_units_until_a_span_after_it_left() -> None:
    plan = schedule()
    first = plan.enqueue(2)
    plan.take(first, 0.0)
    plan.restamp(first, 0.06)  # the connection took 60 ms to open
    second = plan.enqueue(1)
    assert plan.pick(1.03) is None  # granted 1.03 s after the grant, but 0.97 s after it left
    assert plan.next_change(1.03) == pytest.approx(1.06)
    assert plan.pick(1.06) is second


def test_a_departure_after_its_entry_expired_is_not_re_dated() -> None:
    plan = schedule()
    first = plan.enqueue(2)
    plan.take(first, 0.0)
    assert plan.restamp(first, 0.5)
    assert not plan.restamp(first, 1.5)  # expired at 1.5: must be taken again
    assert plan.used(1.5) == 0


@pytest.mark.anyio
async def test_a_send_leaving_after_its_units_expired_waits_ahead_of_the_queue() -> None:
    fake = FakeTime()
    limiter = SlidingWindowLimiter(clock=fake.clock, sleep=fake.sleep, interval=0.0, lead=0.0)
    quota = Quota("app", "group", 2)
    log: list[tuple[str, float]] = []

    async def slow_connection() -> None:
        departure = await limiter.acquire(quota, 2)
        await fake.sleep(1.5)  # granted at 0, its units expire at 1.0, it leaves at 1.5
        await departure.leaving()
        log.append(("slow", fake.now))

    async def others() -> None:
        await fake.sleep(1.2)
        await limiter.acquire(quota, 2)  # takes both units at 1.2
        log.append(("other", fake.now))
        await limiter.acquire(quota, 1)  # queued behind the slow send's second grant
        log.append(("later", fake.now))

    async with anyio.create_task_group() as group:
        fake.spawn(group, slow_connection)
        fake.spawn(group, others)
        await fake.run()
    assert log == [("other", 1.2), ("slow", 2.2), ("later", 3.2)]


def test_a_send_already_out_is_counted_again_even_after_its_units_expired() -> None:
    plan = schedule()
    first = plan.enqueue(2)
    plan.take(first, 0.0)
    assert plan.restamp(first, 1.5, force=True)
    assert plan.used(2.49) == 2
    assert plan.used(2.5) == 0


@pytest.mark.anyio
async def test_units_count_from_when_the_whole_request_was_written() -> None:
    fake = FakeTime()
    limiter = SlidingWindowLimiter(clock=fake.clock, sleep=fake.sleep, interval=0.0, lead=0.0)
    quota = Quota("app", "group", 1)
    times: list[float] = []

    async def send(start: float, stall: float) -> None:
        await fake.sleep(start)
        departure = await limiter.acquire(quota, 1)
        await departure.leaving()
        await fake.sleep(stall)  # a garbage collection before the bytes are out
        departure.left()
        departure.left()  # once only
        times.append(fake.now)

    async with anyio.create_task_group() as group:
        fake.spawn(group, partial(send, 0.0, 0.02))
        fake.spawn(group, partial(send, 0.001, 0.0))
        await fake.run()
    assert times == pytest.approx([0.02, 1.02])


def test_restamping_keeps_the_log_in_time_order() -> None:
    plan = Schedule(limit=3, span=1.0, overtake=0, interval=0.0)
    early, late = plan.enqueue(1), plan.enqueue(1)
    plan.take(early, 0.0)
    plan.take(late, 0.01)
    plan.restamp(early, 0.05)
    assert plan.used(1.02) == 1  # `late` expired at 1.01, `early` counts until 1.05
    assert plan.used(1.05) == 0


class RecordingLimiter:
    """Grants at once and records when the client reports the bytes leaving."""

    def __init__(self) -> None:
        self.events: list[str] = []

    async def acquire(self, quota: Quota, cost: int) -> RecordingLimiter:
        self.events.append("acquire")
        return self

    async def leaving(self) -> None:
        self.events.append("leaving")
        await anyio.lowlevel.checkpoint()

    def left(self) -> None:
        self.events.append("left")

    async def pause(self, quota: Quota, seconds: float | None) -> None:
        await anyio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        await anyio.lowlevel.checkpoint()


@pytest.mark.anyio
async def test_the_client_reports_when_the_bytes_leave() -> None:
    limiter = RecordingLimiter()
    emulator = Emulator({"k": "s"})
    async with (
        serve(emulator) as server,
        RongCloud(
            "k", "s", base_urls=[server.url], rate_limits=RateLimits(), limiter=limiter
        ) as rc,
    ):
        for _ in range(2):
            await rc.publish_group(
                from_user_id="u", group_ids=["g"], content=TextMessage(content="x")
            )
    assert limiter.events == ["acquire", "leaving", "left"] * 2


@pytest.mark.anyio
async def test_with_a_transport_without_the_trace_hook_the_client_reports_before_handing_over() -> (
    None
):
    limiter = RecordingLimiter()

    def handler(request: httpx.Request) -> httpx.Response:
        limiter.events.append("handed over")
        return httpx.Response(200, json={"code": 200})

    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http,
        RongCloud(
            "k",
            "s",
            base_urls=["https://api.test"],
            rate_limits=RateLimits(),
            limiter=limiter,
            http_client=http,
        ) as rc,
    ):
        await rc.publish_group(from_user_id="u", group_ids=["g"], content=TextMessage(content="x"))
    assert limiter.events == ["acquire", "leaving", "handed over"]


@pytest.mark.anyio
async def test_only_httpx_own_transport_counts_as_traced() -> None:
    proxied = httpx.AsyncClient(mounts={"https://api.test": httpx.MockTransport(lambda r: r)})
    async with httpx.AsyncClient() as plain, proxied:
        assert traces_writes(plain, "https://api.test")
        assert not traces_writes(proxied, "https://api.test")
        assert traces_writes(proxied, "https://other.test")


@pytest.mark.anyio
async def test_a_send_is_granted_a_lead_early_and_leaves_at_its_instant() -> None:
    fake = FakeTime()
    limiter = SlidingWindowLimiter(clock=fake.clock, sleep=fake.sleep, interval=0.0, lead=0.05)
    quota = Quota("app", "group", 1)
    log: list[tuple[str, float]] = []

    async def send(name: str, start: float, build: float) -> None:
        await fake.sleep(start)
        departure = await limiter.acquire(quota, 1)
        log.append((f"{name} granted", fake.now))
        await fake.sleep(build)  # building the request, opening a connection
        await departure.leaving()
        log.append((f"{name} left", fake.now))

    async with anyio.create_task_group() as group:
        fake.spawn(group, partial(send, "a", 0.0, 0.0))
        fake.spawn(group, partial(send, "b", 0.01, 0.02))  # ready early: waits for its instant
        fake.spawn(group, partial(send, "c", 0.02, 0.08))  # late: counts from when it left
        await fake.run()
    assert [name for name, _ in log] == [f"{n} {e}" for n in "abc" for e in ("granted", "left")]
    assert [t for _, t in log] == pytest.approx([0.0, 0.05, 1.0, 1.05, 2.0, 2.08])
