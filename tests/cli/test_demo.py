"""`rongpub demo` end to end, with small counts and raised limits so it takes seconds."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from rongpub._cli.main import main

from ..fanout.helpers import journal_state

pytestmark = pytest.mark.slow


def test_the_demo_fans_out_through_the_emulator_and_writes_its_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "results"
    command = ["demo", "--groups", "40", "--chatrooms", "150", "--output", str(output)]
    limits = ["--group-limit", "2000", "--chatroom-limit", "5000", "--plain"]
    assert main([*command, *limits]) == 0
    [folder] = output.iterdir()
    groups, rooms = journal_state(folder / "group.jsonl"), journal_state(folder / "chatroom.jsonl")
    assert sorted(groups) == [f"demo-group-{n:02d}" for n in range(1, 41)]
    assert len(rooms) == 150 and set(groups.values()) == set(rooms.values()) == {"sent"}
    summary = msgspec.json.decode((folder / "summary.json").read_bytes())
    assert [f["sent"] for f in summary["fanouts"]] == [40, 150]
    assert summary["rate_limited_answers"] == 0
    out = capsys.readouterr().out
    assert "group     40 of 40 sent" in out and "chatroom  150 of 150 sent" in out
    assert "429 answers from the emulator: 0" in out
    assert f"per-target results: {folder}/" in out


def test_a_demo_of_one_api_only_and_bad_counts(tmp_path: Path) -> None:
    command = ["demo", "--groups", "0", "--chatrooms", "20", "--output", str(tmp_path)]
    assert main([*command, "--chatroom-limit", "5000", "--plain"]) == 0
    [folder] = tmp_path.iterdir()
    assert sorted(path.name for path in folder.iterdir()) == ["chatroom.jsonl", "summary.json"]
    assert main(["demo", "--groups", "-1"]) == 2
