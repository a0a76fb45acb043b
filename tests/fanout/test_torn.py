"""A journal cut mid-line by a killed writer: the tail is cut off and the dead run closed.

#13 case 1: the loader used to stop at the torn line without closing the dead run, so the
targets of its last `sending` line were sent again on resume.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rongpub._fanout.journal import Journal, fingerprint
from rongpub._request import group_template

from .helpers import MESSAGE, emulator_client, journal_state, lifted_emulator

_TEMPLATE = group_template(**MESSAGE)


def _line(**fields: object) -> bytes:
    return msgspec.json.encode(fields) + b"\n"


_HEADER = _line(rongpub_fanout=1, api="group", message=fingerprint(_TEMPLATE), started=0.0)
_WHOLE = [
    _HEADER,
    _line(sending=["g0"], request_id="r0"),
    _line(target="g0", status="sent", message_uid="U0", request_id="r0"),
    _line(sending=["g1", "g2", "g3"], request_id="r1"),  # in flight when the run died
]
#: Lines the dead run may have been writing when it was killed.
_TAILS = [
    _line(sending=["g4", "g5"], request_id="r2"),
    _line(target="g1", status="sent", message_uid="U1", request_id="r1"),
]


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tail=st.sampled_from(_TAILS), data=st.data())
def test_a_cut_tail_is_dropped_and_the_dead_run_s_requests_stay_unknown(
    tmp_path_factory: pytest.TempPathFactory, tail: bytes, data: st.DataObject
) -> None:
    cut = data.draw(st.integers(min_value=1, max_value=len(tail) - 2), label="cut")
    path = tmp_path_factory.mktemp("torn") / "j.jsonl"
    whole = b"".join(_WHOLE)
    path.write_bytes(whole + tail[:cut])
    journal = Journal(path, "group", fingerprint(_TEMPLATE))
    journal.open(resend_unknown=False)
    journal.close()
    content = path.read_bytes()
    assert content.startswith(whole) and content.count(b"\n") == len(_WHOLE) + 1
    assert b"rongpub_fanout" in content[len(whole) :]  # the torn bytes gave way to a header
    for target in ("g1", "g2", "g3"):
        assert target in journal.settled.unknown
    assert "g0" in journal.settled.sent and "g4" not in journal.settled.unknown
    assert journal_state(path) == {"g0": "sent", "g1": "unknown", "g2": "unknown", "g3": "unknown"}


@pytest.mark.anyio
@pytest.mark.parametrize("cut", [1, 9, 30])
async def test_a_resume_after_a_torn_tail_sends_nothing_twice(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(b"".join(_WHOLE[:1] + _WHOLE[3:]) + _TAILS[0][:cut])  # the 3 lines
    emulator = lifted_emulator()
    async with emulator_client(emulator) as rc:
        report = await rc.fanout_group([f"g{i}" for i in range(6)], journal=path, **MESSAGE)
    assert report.already_unknown == 3 and report.sent == 3
    assert sorted(record.target_id for record in emulator.records) == ["g0", "g4", "g5"]


def test_outcomes_of_one_request_cut_short_leave_the_rest_of_it_unknown(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    answer = b"".join(_line(target=t, status="sent", request_id="r1") for t in ("g1", "g2", "g3"))
    path.write_bytes(b"".join(_WHOLE) + answer[: len(answer) // 2])  # one write, cut
    journal = Journal(path, "group", fingerprint(_TEMPLATE))
    journal.open(resend_unknown=False)
    journal.close()
    assert "g1" in journal.settled.sent
    assert "g2" in journal.settled.unknown and "g3" in journal.settled.unknown
