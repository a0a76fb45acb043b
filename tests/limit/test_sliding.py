"""SlidingWindowLimiter on virtual time, under asyncio and trio: nothing sleeps for real."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import pytest

from rongpub import InvalidRequestError, Limiter, Quota
from rongpub._limit.sliding_log import SlidingWindowLimiter, _Timing
from rongpub._limit.virtual_time import FakeTime

pytestmark = pytest.mark.anyio

GROUP = Quota("app", "group", 3)


def limiter(
    fake: FakeTime, *, overtake: float = 0.0, interval: float | None = 0.0
) -> SlidingWindowLimiter:
    return SlidingWindowLimiter(
        clock=fake.clock, sleep=fake.sleep, overtake=overtake, interval=interval, lead=0.0
    )


async def drive(fake: FakeTime, *jobs: Callable[[], Awaitable[object]]) -> None:
    """Run `jobs` concurrently on virtual time until all have ended; each starts (and runs
    until it first blocks) before the next, so jobs at the same instant queue in this order."""
    async with anyio.create_task_group() as group:
        for job in jobs:
            fake.spawn(group, job)
            await fake.settle()
        await fake.run()


def sender(
    fake: FakeTime,
    lim: SlidingWindowLimiter,
    log: list[tuple[str, float]],
    name: str,
    cost: int,
    *,
    quota: Quota = GROUP,
    at: float = 0.0,
) -> Callable[[], Awaitable[None]]:
    async def send() -> None:
        await fake.sleep(at)
        await lim.acquire(quota, cost)
        log.append((name, fake.now))

    return send


async def test_is_a_limiter() -> None:
    assert isinstance(SlidingWindowLimiter(), Limiter)


async def test_sends_leave_at_once_while_they_fit() -> None:
    fake = FakeTime()
    lim = limiter(fake)
    log: list[tuple[str, float]] = []
    await drive(fake, sender(fake, lim, log, "a", 2), sender(fake, lim, log, "b", 1))
    assert log == [("a", 0.0), ("b", 0.0)]


async def test_a_release_counts_for_the_window_plus_margin() -> None:
    fake = FakeTime()
    lim = limiter(fake)
    log: list[tuple[str, float]] = []
    quota = Quota("app", "group", 2, margin=0.25)
    jobs = [sender(fake, lim, log, name, 1, quota=quota) for name in "abc"]
    await drive(fake, *jobs)
    assert log == [("a", 0.0), ("b", 0.0), ("c", 1.25)]


async def test_records_the_instant_the_task_really_ran_not_its_due_time() -> None:
    fake = FakeTime(lateness=lambda: 0.1)  # every timer fires 100 ms late
    lim = limiter(fake)
    log: list[tuple[str, float]] = []
    quota = Quota("app", "group", 1)
    await drive(fake, *[sender(fake, lim, log, name, 1, quota=quota) for name in "abc"])
    # Counting from due times would let "c" leave at 2.1, 0.9 s after "b" really left.
    assert [name for name, _ in log] == ["a", "b", "c"]
    assert [t for _, t in log] == pytest.approx([0.0, 1.1, 2.2])


async def test_strict_fifo_keeps_a_three_target_send_ahead_of_later_small_ones() -> None:
    fake = FakeTime()
    lim = limiter(fake, overtake=0.0)
    log: list[tuple[str, float]] = []
    jobs = [sender(fake, lim, log, "first", 2), sender(fake, lim, log, "big", 3)]
    jobs += [sender(fake, lim, log, f"small{i}", 1) for i in range(4)]
    await drive(fake, *jobs)
    assert [name for name, _ in log] == ["first", "big", "small0", "small1", "small2", "small3"]
    assert dict(log)["big"] == 1.0


async def test_later_sends_overtake_by_at_most_the_budget() -> None:
    fake = FakeTime()
    lim = limiter(fake, overtake=1.0)  # one window's worth: 3 units may pass
    log: list[tuple[str, float]] = []
    jobs = [sender(fake, lim, log, "first", 2), sender(fake, lim, log, "big", 3)]
    jobs += [sender(fake, lim, log, f"small{i}", 1, at=0.1 * (i + 1)) for i in range(5)]
    await drive(fake, *jobs)
    order = [name for name, _ in log]
    # small0..small2 use units that would idle while "big" waits for 3; then its budget is spent.
    assert order == ["first", "small0", "small1", "small2", "big", "small3", "small4"]
    assert dict(log)["big"] == 2.0


async def test_releases_are_paced() -> None:
    fake = FakeTime()
    lim = limiter(fake, interval=0.05)
    log: list[tuple[str, float]] = []
    quota = Quota("app", "chatroom", 10)
    await drive(fake, *[sender(fake, lim, log, name, 1, quota=quota) for name in "abc"])
    assert [t for _, t in log] == pytest.approx([0.0, 0.05, 0.1])


async def test_default_pacing_is_half_the_unit_interval_at_most_1_ms() -> None:
    fake = FakeTime()
    lim = SlidingWindowLimiter(clock=fake.clock, sleep=fake.sleep, lead=0.0)
    log: list[tuple[str, float]] = []
    slow, fast = Quota("app", "group", 20), Quota("app", "chatroom", 1000)
    jobs = [sender(fake, lim, log, f"g{i}", 1, quota=slow) for i in range(2)]
    jobs += [sender(fake, lim, log, f"c{i}", 1, quota=fast) for i in range(2)]
    await drive(fake, *jobs)
    times = dict(log)
    assert times["g1"] - times["g0"] == pytest.approx(0.001)  # 1 s / 40 = 25 ms, capped
    assert times["c1"] - times["c0"] == pytest.approx(1 / 2000)


async def test_a_cancelled_waiter_takes_nothing_and_blocks_nobody() -> None:
    fake = FakeTime()
    lim = limiter(fake)
    log: list[tuple[str, float]] = []
    scope = anyio.CancelScope()

    async def big() -> None:
        with scope:
            await lim.acquire(GROUP, 3)
        log.append(("big cancelled", fake.now))

    async def cancel() -> None:
        await fake.sleep(0.5)
        scope.cancel()

    jobs = [sender(fake, lim, log, "first", 2), big, sender(fake, lim, log, "small", 1), cancel]
    await drive(fake, *jobs, sender(fake, lim, log, "after", 2, at=0.6))
    assert log == [("first", 0.0), ("big cancelled", 0.5), ("small", 0.5), ("after", 1.0)]
    assert scope.cancelled_caught


async def test_pause_holds_every_sender_until_its_deadline() -> None:
    fake = FakeTime()
    lim = limiter(fake)
    log: list[tuple[str, float]] = []

    async def pause() -> None:
        await lim.pause(GROUP, 2.5)

    await drive(fake, pause, sender(fake, lim, log, "a", 1), sender(fake, lim, log, "b", 1))
    assert log == [("a", 2.5), ("b", 2.5)]


async def test_a_first_429_without_retry_after_holds_until_a_unit_frees_plus_the_margin() -> None:
    fake = FakeTime()
    lim = limiter(fake)
    log: list[tuple[str, float]] = []
    quota = Quota("app", "group", 3, margin=0.02)

    async def pause() -> None:
        await fake.sleep(0.5)
        await lim.pause(quota, None)  # the first send's unit frees at 1.02

    first, second = (
        sender(fake, lim, log, n, 1, quota=quota, at=t) for n, t in [("a", 0), ("b", 0.6)]
    )
    await drive(fake, first, pause, second)
    assert [t for _, t in log] == pytest.approx([0.0, 1.04])


async def test_each_app_key_and_api_has_its_own_quota() -> None:
    fake = FakeTime()
    lim = limiter(fake)
    log: list[tuple[str, float]] = []
    quotas = [GROUP, Quota("app", "chatroom", 3), Quota("other", "group", 3)]
    jobs = [sender(fake, lim, log, q.scope + q.api, 3, quota=q) for q in quotas]
    await drive(fake, *jobs, sender(fake, lim, log, "again", 3))
    assert [t for _, t in log] == [0.0, 0.0, 0.0, 1.0]


async def test_one_quota_with_two_limits_is_refused() -> None:
    lim = SlidingWindowLimiter()
    await lim.acquire(GROUP, 1)
    with pytest.raises(InvalidRequestError, match=r"already counted as 3 per 1\.0 s"):
        await lim.acquire(Quota("app", "group", 30), 1)


@pytest.mark.parametrize("cost", [0, 4])
async def test_cost_must_fit_the_limit(cost: int) -> None:
    with pytest.raises(InvalidRequestError, match="cost"):
        await SlidingWindowLimiter().acquire(GROUP, cost)


async def test_real_clock_and_sleep_by_default() -> None:
    lim = SlidingWindowLimiter(interval=0.0)  # nothing waits: no real sleeping in a unit test
    await lim.acquire(GROUP, 2)
    await lim.pause(GROUP, 0.0)
    await lim.acquire(GROUP, 1)
    await lim.aclose()


@pytest.mark.parametrize(
    ("field", "kwargs"), [("overtake", {"overtake": -1.0}), ("interval", {"interval": -1.0})]
)
async def test_settings_are_checked(field: str, kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidRequestError, match=field):
        SlidingWindowLimiter(**kwargs)  # type: ignore[arg-type]


def test_native_asyncio_cancellation_withdraws_the_waiter() -> None:
    anyio.run(native_asyncio_cancellation, backend="asyncio")


async def native_asyncio_cancellation() -> None:
    import asyncio

    fake = FakeTime()
    lim = limiter(fake)
    log: list[tuple[str, float]] = []

    async def big() -> None:
        task = asyncio.ensure_future(lim.acquire(GROUP, 3))
        await fake.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    await drive(fake, sender(fake, lim, log, "first", 2), big, sender(fake, lim, log, "s", 1))
    assert log == [("first", 0.0), ("s", 0.5)]


class Timers:
    """A clock and sleep where each reading is 0.2 ms later (time passes while a task
    yields, unless `frozen`) and every timer fires 1 ms late."""

    def __init__(self, *, frozen: bool = False) -> None:
        self.now, self.frozen, self.slept = 0.0, frozen, list[float]()
        self.real = 0.0

    def clock(self) -> float:
        self.now += 0.0 if self.frozen else 0.0002
        return self.now

    def realtime(self) -> float:
        self.real += 0.0002
        return self.real

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds + 0.001
        await anyio.lowlevel.checkpoint()


async def test_on_real_timers_the_last_moments_are_waited_by_yielding() -> None:
    timers = Timers()
    timing = _Timing(timers.clock, timers.sleep, 0.003, spin=0.0015, realtime=timers.realtime)
    await timing.until(0.010)
    assert timers.slept == [pytest.approx(0.0085 - 0.0002)]  # one timer, to 1.5 ms before
    assert 0.010 <= timers.now < 0.0104  # then yields: on time despite the late timer


async def test_a_clock_that_stands_still_while_tasks_yield_gets_a_plain_sleep() -> None:
    timers = Timers(frozen=True)  # as trio's autojumping MockClock
    timing = _Timing(timers.clock, timers.sleep, 0.003, spin=0.0015, realtime=timers.realtime)
    timers.now = 0.009
    await timing.until(0.010)
    assert timers.slept == [pytest.approx(0.001)]  # yielded 1.5 ms of real time, then slept
