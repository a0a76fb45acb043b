"""What ends a fan-out early, what only fails one target, and what the report shows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from rongpub import AuthenticationError, InvalidRequestError
from rongpub._fanout.engine import Fanout
from rongpub._fanout.options import FanoutOptions
from rongpub._fanout.report import FanoutAborted, FanoutReport
from rongpub._request import PreparedRequest, group_template
from rongpub._response import PublishResult

from ..mock_api import MockAPI, reply
from .helpers import MESSAGE, emulator_client, ids, journal_outcomes, lifted_emulator


@pytest.mark.anyio
async def test_a_wrong_secret_stops_the_run_with_the_partial_report(tmp_path: Path) -> None:
    emulator = lifted_emulator()
    async with emulator_client(emulator, app_secret="wrong") as rc:
        fanout = rc.fanout_group(ids("g", 3000), journal=tmp_path / "j.jsonl", **MESSAGE)
        with pytest.raises(FanoutAborted) as caught:
            await fanout
    report = caught.value.report
    assert report is fanout.report and report.done and not report.cancelled
    assert isinstance(caught.value.__cause__, AuthenticationError)
    assert isinstance(report.error, AuthenticationError)
    assert report.failed > 0 and report.sent == 0 and report.pending == 0
    assert report.taken < 3000  # it stopped taking targets
    assert len(journal_outcomes(tmp_path / "j.jsonl")) == report.failed


@pytest.mark.anyio
async def test_a_service_not_enabled_answer_stops_the_run() -> None:
    api = MockAPI(default=lambda request: reply(430, 1009, "service not enabled"))
    async with api.client() as rc:
        with pytest.raises(FanoutAborted, match="1009"):
            await rc.fanout_group(ids("g", 300), concurrency=1, **MESSAGE)
    assert len(api.requests) < 100


@pytest.mark.anyio
async def test_a_rejected_pack_fails_alone_and_the_rest_goes_on() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if b"toGroupId=g3" in request.content:
            return reply(400, 1002, "toGroupId g3 is not a group")
        groups = [p.split("=")[1] for p in request.content.decode().split("&") if "toGroupId" in p]
        uids = [{"groupId": g, "messageUID": "U"} for g in groups]
        return httpx.Response(200, json={"code": 200, "messageUIDs": uids})

    api = MockAPI(default=answer)
    async with api.client() as rc:
        report = await rc.fanout_group(ids("g", 9), keep_results="all", **MESSAGE)
    failed = {o.target: o for o in report.results if o.status == "failed"}
    assert sorted(failed) == ["g3", "g4", "g5"] and report.sent == 6
    assert failed["g3"].code == 1002 and "RejectedError" in (failed["g3"].error or "")
    assert not failed["g3"].retryable


@pytest.mark.anyio
async def test_invalid_and_repeated_ids_are_accounted_without_failing_others() -> None:
    emulator = lifted_emulator()
    targets: list[object] = ["g1", "", "g2", "g1", 7, "g3", "g2"]
    async with emulator_client(emulator) as rc:
        report = await rc.fanout_group(iter(targets), keep_results="all", **MESSAGE)  # type: ignore[arg-type]
    assert (report.sent, report.failed, report.duplicates) == (3, 2, 2)
    assert report.taken == len(targets)
    invalid = [o for o in report.results if o.status == "failed"]
    assert [o.target for o in invalid] == ["", "7"]
    assert all("InvalidRequestError" in (o.error or "") for o in invalid)
    assert sorted(r.target_id for r in emulator.records) == ["g1", "g2", "g3"]


@pytest.mark.anyio
async def test_without_dedupe_a_repeated_id_is_sent_again_but_never_twice_in_one_request() -> None:
    emulator = lifted_emulator()
    async with emulator_client(emulator) as rc:
        report = await rc.fanout_group(["a", "a", "b"], dedupe=False, **MESSAGE)
    assert report.sent == 3 and report.duplicates == 0
    assert [a.targets for a in emulator.arrivals] == [1, 2]


@pytest.mark.anyio
async def test_an_error_of_the_targets_iterable_is_raised_once_the_rest_settled() -> None:
    def targets() -> Iterator[str]:
        yield from ids("g", 7)
        raise LookupError("the database cursor broke")

    emulator = lifted_emulator()
    async with emulator_client(emulator) as rc:
        fanout = rc.fanout_group(targets(), **MESSAGE)
        with pytest.raises(LookupError, match="cursor broke"):
            await fanout
    report = fanout.report
    assert report.sent + report.failed == 7 and report.pending == 0
    assert report.sent == 6 and report.failed == 1  # the last, unfinished pack was not sent
    assert isinstance(report.error, LookupError) and not report.cancelled


@pytest.mark.anyio
async def test_an_unexpected_error_of_send_leaves_its_targets_unknown_and_is_raised() -> None:
    async def send(
        request: PreparedRequest, *, on_leaving: Callable[[], Awaitable[None]] | None = None
    ) -> PublishResult:
        await anyio.lowlevel.checkpoint()
        if "g4" in request.targets:
            raise ZeroDivisionError("a bug")
        uids = {target: "U" for target in request.targets}
        return PublishResult(message_uids=uids, code=200, request_id=request.request_id)

    options = FanoutOptions(pack_size=3, concurrency=1, keep_results="all")
    fanout = Fanout(send, group_template(**MESSAGE), ids("g", 30), quota=None, options=options)
    with pytest.raises(ZeroDivisionError):
        await fanout
    report = fanout.report
    assert report.sent == 3 and report.unknown == 3 and report.pending == 0
    assert report.taken < 30


@pytest.mark.anyio
async def test_progress_is_reported_at_the_end_with_every_count() -> None:
    seen: list[tuple[int, bool]] = []

    def progress(report: FanoutReport) -> None:
        seen.append((report.sent, report.done))

    async with emulator_client(lifted_emulator()) as rc:
        report = await rc.fanout_chatroom(ids("c", 25), on_progress=progress, **MESSAGE)
    assert seen[-1] == (25, True)
    assert report.total == 25 and report.eta is not None and report.eta == 0
    assert report.complete and report.results == []  # "problems" keeps only failures
    assert "25 sent, 0 failed, 0 unknown" in report.summary()


@pytest.mark.anyio
async def test_a_fanout_runs_once() -> None:
    async with emulator_client(lifted_emulator()) as rc:
        fanout = rc.fanout_group(["g1"], keep_results="none", **MESSAGE)
        report = await fanout
        assert report.sent == 1 and report.results == []
        with pytest.raises(RuntimeError, match="runs once"):
            await fanout


def test_options_are_checked_before_anything_runs() -> None:
    template = group_template(**MESSAGE)

    async def send(
        request: PreparedRequest, *, on_leaving: Callable[[], Awaitable[None]] | None = None
    ) -> PublishResult:
        raise AssertionError("not reached")

    with pytest.raises(InvalidRequestError, match="pack_size"):
        Fanout(send, template, [], quota=None, options=FanoutOptions(pack_size=0))
    with pytest.raises(InvalidRequestError, match="concurrency"):
        Fanout(send, template, [], quota=None, options=FanoutOptions(pack_size=3, concurrency=0))


def test_the_report_summary_names_skipped_and_repeated_targets() -> None:
    report = FanoutReport(api="group", quota=20, sent=5, already_sent=2, duplicates=1)
    report.elapsed = 2.0
    assert report.summary() == (
        "5 sent, 0 failed, 0 unknown, 2 skipped (journal), 1 duplicates ignored; "
        "2.5/s of 20/s over 2.0 s"
    )
    assert report.eta is None and FanoutReport(api="group").rate == 0.0
    assert report.quota_use == 5 / (20 * 3)  # a window at once, then 20/s for 2 s
    assert FanoutReport(api="group").quota_use is None


def test_a_fanout_can_be_built_outside_an_event_loop_and_run_later() -> None:
    api = MockAPI()
    fanout = api.client().fanout_group(["g1", "g2"], **MESSAGE)
    assert fanout.report.sent == 0 and not fanout.report.done
    report = anyio.run(fanout.run)
    assert report.sent == 2 and report.complete
