"""The journal: flushed lines, resume rules, refusal of a foreign journal, torn lines."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from rongpub import InvalidRequestError
from rongpub._fanout.journal import Journal, Settled, fingerprint
from rongpub._fanout.outcomes import TargetOutcome
from rongpub._request import group_template
from rongpub.emulator import Faults

from .helpers import MESSAGE, emulator_client, ids, journal_outcomes, lifted_emulator

_TEMPLATE = group_template(**MESSAGE)


def _journal(path: Path, *, resend_unknown: bool = False) -> Journal:
    journal = Journal(path, "group", fingerprint(_TEMPLATE))
    journal.open(resend_unknown=resend_unknown)
    return journal


def _settled(path: Path, *, resend_unknown: bool = False) -> Settled:
    journal = _journal(path, resend_unknown=resend_unknown)
    journal.close()
    return journal.settled


def _line(**fields: object) -> bytes:
    return msgspec.json.encode(fields) + b"\n"


def _header() -> bytes:
    return _line(rongpub_fanout=1, api="group", message=fingerprint(_TEMPLATE), started=0.0)


def test_a_new_journal_starts_with_a_header_and_takes_each_outcome_at_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.jsonl"
    journal = _journal(path)
    journal.write([TargetOutcome(target="g1", status="sent", message_uid="U1")])
    first, second = path.read_bytes().splitlines()  # flushed before close
    assert msgspec.json.decode(first)["message"] == fingerprint(_TEMPLATE)
    assert msgspec.json.decode(second) == {"target": "g1", "status": "sent", "message_uid": "U1"}
    journal.close()
    journal.close()
    with pytest.raises(RuntimeError, match="not open"):
        journal.write([])


def test_the_last_line_of_a_target_is_its_state(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    lines = [
        _header(),
        _line(target="a", status="failed"),
        _line(target="a", status="sent"),
        _line(target="b", status="unknown"),
        _line(target="b", status="failed"),
        _line(target="c", status="unknown"),
        _line(target="d", status="sent"),
        _line(target="d", status="unknown"),
    ]
    path.write_bytes(b"".join(lines))
    settled = _settled(path)
    assert ("a" in settled.sent, "b" in settled.sent, "b" in settled.unknown) == (
        True,
        False,
        False,
    )
    assert "c" in settled.unknown and "d" in settled.unknown and "d" not in settled.sent
    assert "c" not in _settled(path, resend_unknown=True).unknown


def test_targets_of_a_request_that_was_never_answered_are_unknown(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    lines = [
        _header(),
        _line(sending=["a", "b"], request_id="r1"),
        _line(target="a", status="sent", request_id="r1"),
        _line(target="b", status="sent", request_id="r1"),
        _line(sending=["c", "d"], request_id="r2"),  # the process died here
        _header(),
        _line(sending=["e"], request_id="r3"),
    ]
    path.write_bytes(b"".join(lines))
    settled = _settled(path)
    assert [t in settled.unknown for t in "abcde"] == [False, False, True, True, True]
    assert [t in settled.sent for t in "abcde"] == [True, True, False, False, False]


def test_a_resent_request_answered_in_a_later_run_is_no_longer_unknown(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    lines = [
        _header(),
        _line(sending=["c"], request_id="r1"),  # died in flight
        _header(),  # resumed with resend_unknown
        _line(sending=["c"], request_id="r2"),
        _line(target="c", status="sent", request_id="r2"),
    ]
    path.write_bytes(b"".join(lines))
    settled = _settled(path)
    assert "c" in settled.sent and "c" not in settled.unknown


def test_a_torn_last_line_is_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(_header() + _line(target="a", status="sent") + b'{"target":"b","sta')
    journal = _journal(path)
    journal.write([TargetOutcome(target="b", status="sent")])
    journal.close()
    assert [o.target for o in journal_outcomes(path)] == ["a", "b"]
    assert "b" in _settled(path).sent


def test_a_last_line_without_its_newline_is_ended(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(_header() + _line(target="a", status="sent").rstrip(b"\n"))
    _journal(path).close()
    assert len(path.read_bytes().splitlines()) == 3
    assert "a" in _settled(path).sent


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (_line(target="a", status="sent"), "does not start with a rongpub fan-out header"),
        (_header() + b"nonsense\n" + _line(target="a", status="sent"), "line 2 is not valid"),
        (_header() + _line(hello=1), "line 2 is neither"),
        (_line(rongpub_fanout=9, api="group", message="x", started=0), "version 9"),
        (_line(rongpub_fanout=1, api="group", message="other", started=0), "another message"),
    ],
)
def test_a_journal_that_is_not_this_message_s_is_refused(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(content)
    with pytest.raises(InvalidRequestError, match=reason) as caught:
        _journal(path)
    assert caught.value.field == "journal"
    assert path.read_bytes() == content  # left untouched


@pytest.mark.anyio
async def test_resuming_with_another_message_or_api_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    async with emulator_client(lifted_emulator()) as rc:
        await rc.fanout_group(["g1"], journal=path, **MESSAGE)
        other = {**MESSAGE, "content": {"content": "changed"}}
        with pytest.raises(InvalidRequestError, match="another message"):
            await rc.fanout_group(["g2"], journal=path, **other)
        with pytest.raises(InvalidRequestError, match="another message"):
            await rc.fanout_chatroom(["c1"], journal=path, **MESSAGE)


@pytest.mark.anyio
async def test_a_resume_retries_failed_targets_and_skips_sent_and_unknown(tmp_path: Path) -> None:
    path, targets = tmp_path / "j.jsonl", ids("g", 60)
    emulator = lifted_emulator(faults=Faults(error_rate=0.3), seed=5)
    async with emulator_client(emulator) as rc:
        first = await rc.fanout_group([*targets, ""], journal=path, keep_results="all", **MESSAGE)
        emulator.faults = Faults()
        second = await rc.fanout_group([*targets, ""], journal=path, **MESSAGE)
    assert first.failed == 1 and first.unknown > 0  # the empty id; the 5xx answers
    assert second.already_sent == first.sent and second.already_unknown == first.unknown
    assert second.failed == 1 and second.sent == 0  # only the empty id was retried (and failed)
    assert not second.complete
