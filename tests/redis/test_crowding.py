"""A send written late is counted from then, and the bookings it crowds move later.

Against a real redis-server: the late-write script on logs built at chosen instants (its
windows hold no more than the limit afterwards, the log keeps its order, and each booking
moves only as far as it must), its message heard by the process that holds a moved
booking, and two limiters (two processes) whose second send keeps a full window after the
first one's late write; the listener's failures on a fake connection.
"""

from __future__ import annotations

from typing import Any, cast

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from rongpub import Quota
from rongpub._redis.moves import _KEPT, Moves
from rongpub._redis.store import QuotaKeys, RedisStore, quota_keys
from rongpub.redis import RedisLimiter
from rongpub.testing import RedisServer

from .fakes import new_quota, until

pytestmark = pytest.mark.anyio

SLACK = 0.01
SLACK_US = 10_000
MS = 1000  # microseconds


@pytest.fixture
def anyio_backend() -> str:
    """redis-py's asyncio client runs on asyncio only (trio: see test_redis_backend.py)."""
    return "asyncio"


@pytest.fixture
def store(redis: Redis) -> RedisStore:
    return RedisStore(redis)


def width_us(quota: Quota) -> int:
    return round((quota.window + quota.margin + SLACK) * 1_000_000)


def units(member: str) -> int:
    return int(member.rsplit(":", 1)[1])


def valid_log(entries: list[tuple[int, int]], limit: int, width: int) -> list[tuple[int, int]]:
    """Of (instant, units) in time order, those a log could hold: each kept only if every
    window of `width` ending at it stays within `limit`."""
    kept: list[tuple[int, int]] = []
    for instant, size in sorted(entries):
        window = sum(u for t, u in kept if t > instant - width) + size
        if window <= limit:
            kept.append((instant, size))
    return kept


def worst_window(log: list[tuple[int, int]], width: int) -> int:
    return max((sum(u for s, u in log if x - width < s <= x) for x, _ in log), default=0)


async def redis_now(client: Redis) -> int:
    seconds, micros = await client.time()
    return int(seconds) * 1_000_000 + int(micros)


async def scores(client: Redis, key: str) -> dict[str, int]:
    entries = cast(list[tuple[bytes, float]], await client.zrange(key, 0, -1, withscores=True))
    return {member.decode(): int(instant) for member, instant in entries}


async def has_bookings(client: Redis, keys: QuotaKeys, count: int) -> bool:
    return await client.zcard(keys.log) >= count


async def heard_after_publishing(client: Redis, listener: Moves) -> bool:
    await client.publish("chan", "x.1:1 1000")
    await anyio.sleep(0.05)
    return listener.stats.heard > 0


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    limit=st.sampled_from([1, 3, 20, 100]),
    late_ms=st.integers(11, 1500),  # later than the slack: only such writes are reported
    late_units=st.integers(1, 10),
    others=st.lists(st.tuples(st.integers(1, 2500), st.integers(1, 10)), max_size=60),
)
async def test_a_late_write_moves_later_bookings_in_order_until_every_window_fits(
    store: RedisStore,
    redis: Redis,
    limit: int,
    late_ms: int,
    late_units: int,
    others: list[tuple[int, int]],
) -> None:
    quota = new_quota(limit, margin=0.01)
    keys, width = quota_keys("rongpub", quota), width_us(quota)
    listener = Moves(redis, prefix="e", timeout=5.0)
    await listener.watch(keys.moved)
    before = await redis_now(redis)
    late_at = before - late_ms * MS
    entries = [(late_at, min(late_units, limit))]
    entries += [(late_at + offset * MS, min(size, limit)) for offset, size in others]
    log = valid_log(entries, limit, width)
    booked = {f"e{index:03}:{size}": instant for index, (instant, size) in enumerate(log)}
    late = "e000:" + str(log[0][1])
    await redis.zadd(keys.log, booked)

    written = before  # as the client maps its clock: never before the true instant
    count = (await store.redate(keys, quota, late, written=written, slack=SLACK)).moved

    await until(lambda: listener.stats.heard >= count)
    await listener.aclose()
    moves = {m: moved for m in booked if (moved := listener.take(m)) is not None}
    after = await scores(redis, keys.log)
    assert len(moves) == count
    assert after[late] == written - SLACK_US  # a booking that left within the slack of it
    assert all(after[m] == moves.get(m, t) for m, t in booked.items() if m != late)
    assert all(moves[m] > booked[m] for m in moves)  # only ever later
    assert worst_window(sorted((t, units(m)) for m, t in after.items()), width) <= limit
    walked = sorted((t, m) for m, t in booked.items() if t > after[late])
    instants = [after[m] for _, m in walked]
    assert instants == sorted(instants)  # the order of the log is kept
    for index, (_, member) in enumerate(walked):  # each moved as little as it had to
        if member in moves:
            previous = instants[index - 1] if index else after[late]
            edges = {t + width for m, t in after.items() if m != member}
            assert moves[member] == previous or moves[member] in edges


async def test_the_bookings_a_late_send_crowds_move_to_where_their_window_fits(
    store: RedisStore, redis: Redis
) -> None:
    # Limit 3; the late send (2 units) was booked 40 ms ago and written now, so it counts as a
    # booking 10 ms ago (now - slack). The next window holds 1 + 2 + 1 units at +1.02 s,
    # +1.03 s and +1.045 s after its booking: the first still fits beside it; the second moves
    # to where the late send's units leave the window; the third, kept behind it, waits
    # for the first's units to leave.
    quota = new_quota(3, margin=0.01)
    keys, width = quota_keys("rongpub", quota), width_us(quota)
    listener = Moves(redis, prefix="x.", timeout=5.0)
    await listener.watch(keys.moved)
    now = await redis_now(redis)
    booked = now - 40 * MS
    log = {"x.0:2": booked, "x.1:1": booked + width, "x.2:2": booked + width + 10 * MS}
    log |= {"y.3:1": booked + width + 25 * MS}  # another process's
    await redis.zadd(keys.log, log)

    assert (await store.redate(keys, quota, "x.0:2", written=now, slack=SLACK)).moved == 2
    await until(lambda: listener.stats.heard >= 1)
    dated = now - SLACK_US
    assert listener.take("x.2:2") == dated + width and listener.take("x.2:2") is None
    assert listener.take("x.1:1") is None  # its window still fits: 2 + 1 units
    assert listener.take("y.3:1") is None  # moved, but not this process's
    assert await redis.zscore(keys.log, "y.3:1") == booked + 2 * width
    await listener.aclose()


async def test_a_write_not_late_by_redis_time_changes_nothing(
    store: RedisStore, redis: Redis
) -> None:
    quota = new_quota(1, margin=0.01)
    keys = quota_keys("rongpub", quota)
    now = await redis_now(redis)
    await redis.zadd(keys.log, {"a:1": now + 5_000_000})  # not late yet
    redated = await store.redate(keys, quota, "a:1", written=now, slack=SLACK)
    assert redated.moved == 0 and redated.instant == now + 5_000_000
    assert await redis.zscore(keys.log, "a:1") == now + 5_000_000


async def test_a_late_write_whose_entry_expired_counts_again(
    store: RedisStore, redis: Redis
) -> None:
    quota = new_quota(1, margin=0.01)
    keys, width = quota_keys("rongpub", quota), width_us(quota)
    now = await redis_now(redis)
    await redis.zadd(keys.log, {"next:1": now + 100 * MS})
    assert (await store.redate(keys, quota, "gone:1", written=now, slack=SLACK)).moved == 1
    assert await redis.zscore(keys.log, "gone:1") == now - SLACK_US
    assert await redis.zscore(keys.log, "next:1") == now - SLACK_US + width
    assert 0 < await redis.pttl(keys.log) <= 2 * width // MS + 1


async def test_a_send_leaving_late_is_counted_from_now_unless_the_quota_is_paused(
    store: RedisStore, redis: Redis
) -> None:
    quota = new_quota(1, margin=0.01)
    keys, width = quota_keys("rongpub", quota), width_us(quota)
    now = await redis_now(redis)
    await redis.zadd(keys.log, {"late:1": now - 50 * MS, "next:1": now - 50 * MS + width})
    redated = await store.redate(keys, quota, "late:1", written=None, slack=SLACK)
    assert redated.moved == 1 and redated.instant == redated.now >= now
    assert await scores(redis, keys.log) == {"late:1": redated.now, "next:1": redated.now + width}
    await store.pause(keys, 1.0)
    paused = await store.redate(keys, quota, "next:1", written=None, slack=SLACK)
    assert paused.instant is None and await redis.zscore(keys.log, "next:1") == redated.now + width


async def test_a_late_write_in_one_process_moves_a_crowded_send_in_another(
    redis_url: str, redis: Redis
) -> None:
    quota = new_quota(2, margin=0.01)
    keys = quota_keys("rongpub", quota)
    first = RedisLimiter.from_url(redis_url, slack=SLACK)
    second = RedisLimiter.from_url(redis_url, slack=SLACK)
    left_at: list[float] = []

    async def send_next() -> None:
        departure = await second.acquire(quota, 2)
        assert departure is not None
        await departure.leaving()
        left_at.append(anyio.current_time())

    try:
        late = await first.acquire(quota, 2)
        assert late is not None
        await late.leaving()
        stalled = anyio.current_time()
        async with anyio.create_task_group() as tg:
            tg.start_soon(send_next)
            await until(lambda: has_bookings(redis, keys, 2))  # the next send booked after it
            await anyio.sleep(max(0.0, stalled + 0.05 - anyio.current_time()))
            late.left()  # written 50 ms after leaving(): the process stalled in between
            written = anyio.current_time()
    finally:
        await first.aclose()
        await second.aclose()
    assert first.stats.late_writes == 1
    assert second.stats.crowded == 1 and second.stats.rebooked == 0
    assert left_at[0] - written >= quota.window + quota.margin - 0.001


async def test_a_restarted_redis_is_listened_to_again() -> None:
    server = RedisServer()
    server.start()
    client = Redis.from_url(server.url)
    listener = Moves(client, prefix="x.", timeout=5.0)
    try:
        await listener.watch("chan")
        server.restart()
        await until(lambda: heard_after_publishing(client, listener))
        assert listener.take("x.1:1") == 1000
    finally:
        await listener.aclose()
        await client.aclose()
        server.close()


class FakePubSub:
    """A pub/sub connection that confirms subscriptions (or not) and fails `fail` times."""

    def __init__(self, *, confirm: bool = True, fail: int = 0) -> None:
        self.confirm, self.fail = confirm, fail
        self.messages: list[dict[str, Any]] = []
        self.closed = False

    async def subscribe(self, channel: str) -> None:
        if self.fail:
            self.fail -= 1
            raise RedisConnectionError("refused")
        if self.confirm:
            self.messages.append({"type": "subscribe", "channel": channel.encode(), "data": 1})

    async def get_message(self, timeout: float) -> dict[str, Any] | None:  # noqa: ASYNC109 - redis-py's signature
        if self.messages:
            return self.messages.pop(0)
        await anyio.sleep(timeout)
        return None

    async def aclose(self) -> None:
        self.closed = True


class FakeClient:
    def __init__(self, pubsub: FakePubSub | None) -> None:
        self._pubsub = pubsub

    def pubsub(self) -> FakePubSub:
        if self._pubsub is None:
            raise AttributeError("pubsub")  # as an old redis-py cluster client has none
        return self._pubsub


def listening(pubsub: FakePubSub | None) -> Moves:
    return Moves(cast(Any, FakeClient(pubsub)), prefix="x.", timeout=0.05)


async def test_a_failed_subscription_is_tried_again_by_the_next_booking() -> None:
    pubsub = FakePubSub(fail=1)
    listener = listening(pubsub)
    with pytest.raises(RedisConnectionError):
        await listener.watch("chan")
    assert not listener.watching("chan")
    await listener.watch("chan")
    assert listener.watching("chan")
    await listener.aclose()
    assert pubsub.closed


async def test_an_unconfirmed_subscription_warns_once_and_books_anyway(
    caplog: pytest.LogCaptureFixture,
) -> None:
    listener = listening(FakePubSub(confirm=False))
    await listener.watch("chan")
    await listener.watch("chan")
    assert [r.message for r in caplog.records] == [
        "rongpub: Redis did not confirm the subscription to chan"
    ]
    await listener.aclose()


async def test_a_client_without_pub_sub_warns_and_hears_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    listener = listening(None)
    await listener.watch("chan")
    assert listener.watching("chan") and listener.take("x.1:1") is None
    assert "no pub/sub" in caplog.text
    await listener.aclose()


async def test_only_the_newest_moves_are_kept() -> None:
    pubsub = FakePubSub()
    listener = listening(pubsub)
    await listener.watch("chan")
    moves = " ".join(f"x.{i}:1 {i}" for i in range(_KEPT + 5))
    pubsub.messages.append({"type": "message", "channel": b"chan", "data": moves.encode()})
    await until(lambda: listener.stats.heard == _KEPT + 5)
    assert listener.take("x.4:1") is None and listener.take(f"x.{_KEPT + 4}:1") == _KEPT + 4
    await listener.aclose()
