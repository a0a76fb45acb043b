"""Little's law sizing of the requests in flight, on latency rather than quota waits."""

from __future__ import annotations

from rongpub._fanout.concurrency import Concurrency
from rongpub._fanout.options import FANOUT_MAX_CONCURRENCY, FANOUT_UNLIMITED_CONCURRENCY


def test_the_slots_follow_the_request_rate_times_the_latency() -> None:
    concurrency = Concurrency(quota=20, period=7)  # 7 requests per second
    for _ in range(10):
        limit = concurrency.observe(duration=1.0, waited=0.0)
    assert limit == 7 * 1 * 2 + 1  # ceil(rate * latency * headroom) + 1


def test_the_median_latency_ignores_a_few_slow_requests() -> None:
    concurrency = Concurrency(quota=100, period=10)
    for duration in [0.1] * 20 + [30.0] * 3:
        concurrency.observe(duration=duration, waited=0.0)
    assert concurrency.limit == 10 * 0.1 * 2 + 1


def test_the_limit_stays_within_its_bounds() -> None:
    concurrency = Concurrency(quota=20, period=7)
    for _ in range(3):
        assert concurrency.observe(duration=0.0, waited=0.0) == 2
    assert concurrency.observe(duration=500.0, waited=0.0) == 2  # the median is still 0
    for _ in range(3):
        concurrency.observe(duration=500.0, waited=0.0)
    assert concurrency.limit == FANOUT_MAX_CONCURRENCY


def test_without_a_quota_a_fixed_number_is_used() -> None:
    concurrency = Concurrency(quota=None, period=1)
    assert concurrency.limit == FANOUT_UNLIMITED_CONCURRENCY
    assert concurrency.dispatched(now=0.0) == 0.0
    assert concurrency.observe(duration=9.0, waited=0.0) == FANOUT_UNLIMITED_CONCURRENCY


def test_a_request_is_predicted_to_wait_for_the_one_a_cycle_earlier() -> None:
    concurrency = Concurrency(quota=20, period=7, window=1.01)
    waits = [concurrency.dispatched(now=0.0) for _ in range(7)]
    assert waits == [0.0] * 7  # a whole window's worth leaves at once
    assert concurrency.dispatched(now=0.5) == 0.51  # then one window after the first
    assert concurrency.dispatched(now=2.0) == 0.0  # the window has long moved on


def test_time_queued_for_quota_does_not_count_as_latency() -> None:
    """Quota waits must not feed the estimate: more slots would only lengthen the queue."""
    concurrency = Concurrency(quota=20, period=7, window=1.0)
    now = 0.0
    waits = []
    for _ in range(70):  # dispatched far faster than the quota lets them leave
        waited = concurrency.dispatched(now)
        concurrency.observe(duration=waited + 0.2, waited=waited)  # 0.2 s on the wire
        waits.append(waited)
        now += 0.01
    assert max(waits) > 8  # the last ones queue for most of ten windows
    assert concurrency.limit == 4  # ceil(7 requests/s * 0.2 s * 2) + 1
