"""`RedisJournal` against a real redis-server (issue #15): the file journal's semantics,
the lease and its fencing token, partial state, expiry. In-process emulator (ASGI)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
from redis.asyncio import Redis

from rongpub import (
    FanoutAborted,
    InvalidRequestError,
    JournalInUseError,
    JournalLostError,
    RongCloud,
    TargetOutcome,
)
from rongpub._fanout.journal import fingerprint
from rongpub._request import group_template
from rongpub.emulator import Emulator, EmulatorApp, Faults
from rongpub.redis import JournalCounts, RedisJournal

from ..fanout.helpers import MESSAGE, emulator_client, ids, lifted_emulator

pytestmark = pytest.mark.anyio

_MESSAGE_ID = fingerprint(group_template(**MESSAGE))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Redis]:
    async with Redis.from_url(redis_url) as redis:
        yield redis


def _name() -> str:
    return f"test-{uuid.uuid4().hex}"


def _delivered(emulator: Emulator) -> Counter[str]:
    return Counter(record.target_id for record in emulator.records)


async def _problems(journal: RedisJournal) -> dict[str, TargetOutcome]:
    return {outcome.target: outcome async for outcome in journal.problems()}


async def test_a_run_records_every_target_and_a_resume_skips_sent_and_unknown(
    client: Redis,
) -> None:
    emulator = lifted_emulator()
    journal = RedisJournal(client, _name())
    async with _rejecting_client(emulator, "g3") as rc:
        report = await rc.fanout_group(ids("g", 30), journal=journal, pack_size=1, **MESSAGE)
        assert (report.sent, report.failed) == (29, 1)
        assert report.journal is not None and journal.name in report.journal
        assert await journal.counts() == JournalCounts(sent=29, failed=1, unknown=0, sending=0)
        assert (await _problems(journal))["g3"].code == 1002
        sent = {outcome.target: outcome async for outcome in journal.sent()}
        assert len(sent) == 29 and all(o.message_uid for o in sent.values())
    async with emulator_client(emulator) as rc:
        again = await rc.fanout_group(ids("g", 40), journal=journal, **MESSAGE)
    assert (again.already_sent, again.sent) == (29, 11)  # g3 retried, 10 new
    assert _delivered(emulator) == Counter(ids("g", 40))
    assert await journal.counts() == JournalCounts(sent=40, failed=0, unknown=0, sending=0)


class _Rejecting(httpx.AsyncBaseTransport):
    """The emulator, but a request to `target` is answered with code 1002."""

    def __init__(self, emulator: Emulator, target: str) -> None:
        self._inner = httpx.ASGITransport(app=EmulatorApp(emulator))
        self._target = f"={target}".encode()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        if any(part.endswith(self._target) for part in body.split(b"&")):
            return httpx.Response(200, json={"code": 1002, "errorMessage": "refused"})
        return await self._inner.handle_async_request(request)


def _rejecting_client(emulator: Emulator, target: str) -> RongCloud:
    http = httpx.AsyncClient(transport=_Rejecting(emulator, target))
    return RongCloud(
        emulator.app_key,
        emulator.app_secret,
        base_urls=["http://emulator.test"],
        http_client=http,
        rate_limits=None,
    )


async def test_another_message_is_refused_and_the_journal_left_as_it_was(client: Redis) -> None:
    name = _name()
    emulator = lifted_emulator()
    async with emulator_client(emulator) as rc:
        await rc.fanout_group(["a"], journal=RedisJournal(client, name), **MESSAGE)
        other = {**MESSAGE, "content": {"content": "another"}}
        with pytest.raises(InvalidRequestError, match="another message"):
            await rc.fanout_group(["b"], journal=RedisJournal(client, name), **other)
        with pytest.raises(InvalidRequestError, match="another message"):
            await rc.fanout_chatroom(["b"], journal=RedisJournal(client, name), **MESSAGE)
    assert _delivered(emulator) == Counter("a")
    assert not await client.exists(f"rongpub:journal:{{{name}}}:lease")


async def test_a_second_run_on_the_name_is_refused_naming_the_holder(client: Redis) -> None:
    name = _name()
    first = RedisJournal(client, name)
    await first.open("group", _MESSAGE_ID, resend_unknown=False)
    emulator = lifted_emulator()
    async with emulator_client(emulator) as rc:
        with pytest.raises(JournalInUseError, match=r"in use by pid \d+ on ") as caught:
            await rc.fanout_group(["a"], journal=RedisJournal(client, name), **MESSAGE)
        assert caught.value.pid is not None and caught.value.started is not None
        await first.close()  # released: the next run goes at once
        report = await rc.fanout_group(["a"], journal=RedisJournal(client, name), **MESSAGE)
    assert report.sent == 1 and _delivered(emulator) == Counter("a")


async def test_targets_left_sending_by_a_dead_run_are_unknown_and_skipped(client: Redis) -> None:
    name = _name()
    dead = RedisJournal(client, name, lease_ttl=0.2, renew_interval=0.1)
    await dead.open("group", _MESSAGE_ID, resend_unknown=False)
    dead.write([TargetOutcome(target="a", status="sent", message_uid="U1")])
    await dead.sending("r1", ["b", "c"])  # carries a's outcome; then the process "dies"
    assert await dead.counts() == JournalCounts(sent=1, failed=0, unknown=0, sending=2)
    await client.delete(f"rongpub:journal:{{{name}}}:lease")  # its lease ran out
    emulator = lifted_emulator()
    journal = RedisJournal(client, name)
    async with emulator_client(emulator) as rc:
        report = await rc.fanout_group(["a", "b", "c", "d"], journal=journal, **MESSAGE)
    assert (report.already_sent, report.already_unknown, report.sent) == (1, 2, 1)
    assert _delivered(emulator) == Counter("d")
    problems = await _problems(journal)
    assert problems["b"].status == "unknown" and problems["b"].request_id == "r1"
    assert await journal.counts() == JournalCounts(sent=2, failed=0, unknown=2, sending=0)
    async with emulator_client(emulator) as rc:  # asked to: unknown targets are resent
        resent = await rc.fanout_group(
            ["b", "c"], journal=RedisJournal(client, name), resend_unknown=True, **MESSAGE
        )
    assert resent.sent == 2 and await journal.counts() == JournalCounts(4, 0, 0, 0)


async def test_a_holder_whose_lease_was_taken_over_can_no_longer_write(client: Redis) -> None:
    name = _name()
    paused = RedisJournal(client, name)
    await paused.open("group", _MESSAGE_ID, resend_unknown=False)
    await paused.sending("r1", ["a"])
    # Its lease ran out in Redis (a long pause, a skewed clock): another run takes over.
    await client.delete(f"rongpub:journal:{{{name}}}:lease")
    taker = RedisJournal(client, name)
    settled = await taker.open("group", _MESSAGE_ID, resend_unknown=False)
    assert "a" in settled.unknown
    paused.write([TargetOutcome(target="a", status="sent")])
    with pytest.raises(JournalLostError, match=r"lease was lost \(held by pid \d+"):
        await paused.sending("r2", ["b"])  # refused by the token: nothing written
    with pytest.raises(JournalLostError):  # and every later call too
        await paused.sending("r3", ["c"])
    await paused.close()
    assert await taker.counts() == JournalCounts(sent=0, failed=0, unknown=1, sending=0)
    await taker.close()


async def test_a_run_that_loses_its_lease_stops_sending(client: Redis) -> None:
    name = _name()
    emulator = lifted_emulator(faults=Faults(latency=(0.01, 0.01)))
    journal = RedisJournal(client, name, lease_ttl=1.0, renew_interval=0.3)

    async def steal() -> None:  # another run's token replaces this run's
        for _ in range(10_000):  # polls Redis: no event to wait for
            if (await journal.counts()).sent >= 10:
                break
            await anyio.sleep(0.005)
        await client.set(f"rongpub:journal:{{{name}}}:lease", "999", px=60_000)

    async with emulator_client(emulator) as rc, anyio.create_task_group() as group:
        fanout = rc.fanout_group(ids("g", 300), journal=journal, concurrency=2, **MESSAGE)
        group.start_soon(steal)
        with pytest.raises(FanoutAborted) as caught:
            await fanout
    assert isinstance(caught.value.__cause__, JournalLostError)
    report = fanout.report
    assert report.settled < 300 and max(_delivered(emulator).values()) == 1
    assert len(_delivered(emulator)) <= report.sent + report.unknown
    assert (await journal.counts()).sent <= report.sent  # nothing written since


async def test_keys_expire_after_the_last_write_or_never(client: Redis) -> None:
    name = _name()
    emulator = lifted_emulator()
    async with emulator_client(emulator) as rc:
        journal = RedisJournal(client, name, expire_after=3600)
        await rc.fanout_group(["a"], journal=journal, **MESSAGE)
        ttl = await client.pttl(f"rongpub:journal:{{{name}}}:sent")
        assert 3_590_000 < ttl <= 3_600_000
        forever = RedisJournal(client, name, expire_after=None)
        await rc.fanout_group(["a", "b"], journal=forever, **MESSAGE)
    assert await client.pttl(f"rongpub:journal:{{{name}}}:sent") == -1
    assert await client.pttl(f"rongpub:journal:{{{name}}}:meta") == -1


async def test_outcomes_without_a_header_are_refused(client: Redis) -> None:
    name = _name()
    await client.hset(f"rongpub:journal:{{{name}}}:sent", "a", "")
    with pytest.raises(InvalidRequestError, match="another message"):
        await RedisJournal(client, name).open("group", _MESSAGE_ID, resend_unknown=False)


async def test_bad_options_are_refused(client: Redis) -> None:
    with pytest.raises(InvalidRequestError, match="renew_interval"):
        RedisJournal(client, "x", lease_ttl=1, renew_interval=2)
    with pytest.raises(InvalidRequestError, match="expire_after"):
        RedisJournal(client, "x", expire_after=1)
    with pytest.raises(InvalidRequestError, match="name"):
        RedisJournal(client, "")


async def test_one_call_per_request_on_the_hot_path(client: Redis) -> None:
    journal = RedisJournal(client, _name())
    calls = 0
    script = journal._write_script
    real = script.__call__

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return await real(*args, **kwargs)

    journal._write_script = counted  # type: ignore[assignment]
    emulator = lifted_emulator()
    async with emulator_client(emulator) as rc:
        report = await rc.fanout_group(ids("g", 300), journal=journal, concurrency=4, **MESSAGE)
    requests = len({record.request_id for record in emulator.records})
    assert report.sent == 300 and requests == 100
    # + close, + flushes of outcomes no request carried within 50 ms (more on a loaded
    # machine: 105 seen in CI); a write per outcome as well would be 200
    assert requests <= calls <= requests + requests // 10


async def test_an_unreachable_redis_is_a_clear_error(client: Redis) -> None:
    journal = RedisJournal.from_url("redis://127.0.0.1:1/0", _name())
    async with RongCloud("k", "s", base_urls=["http://127.0.0.1:1"], rate_limits=None) as rc:
        with pytest.raises(JournalLostError, match="Redis cannot be reached"):
            await rc.fanout_group(["a"], journal=journal, **MESSAGE)
    await journal.aclose()


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_under_trio_the_journal_refuses_before_asking_redis(anyio_backend: str) -> None:
    journal = RedisJournal(Redis(host="127.0.0.1", port=1), "trio-run")
    with pytest.raises(InvalidRequestError, match="asyncio only"):
        await journal.open("group", "message", resend_unknown=False)
