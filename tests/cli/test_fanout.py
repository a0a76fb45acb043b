"""`rongpub fanout` in-process against the emulator on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rongpub._cli.main import main
from rongpub._cli.progress import describe, open_display
from rongpub._fanout.report import FanoutReport
from rongpub.emulator import Emulator, Faults, Server, run_in_thread

from ..fanout.helpers import journal_outcomes


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    emulator = Emulator(
        group_limit=10_000, chatroom_limit=10_000, private_limit=10_000, system_limit=10_000
    )
    monkeypatch.setenv("RONGCLOUD_APP_KEY", emulator.app_key)
    monkeypatch.setenv("RONGCLOUD_APP_SECRET", emulator.app_secret)
    with run_in_thread(emulator) as running:
        yield running


def _targets(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "targets.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def _fanout(server: Server, api: str, targets: Path, *extra: str) -> int:
    message = ["--from-user", "sys", "--object-name", "RC:TxtMsg", "--content", '{"content":"hi"}']
    command = ["fanout", api, "--targets", str(targets), *message]
    return main([*command, "--base-url", server.url, "--rate-limit", "10000", "--plain", *extra])


def test_every_group_of_the_file_is_sent_and_journaled(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = _targets(tmp_path, [f"g{n}" for n in range(50)] + ["", "  "])
    journal = tmp_path / "j.jsonl"
    assert _fanout(server, "group", targets, "--journal", str(journal)) == 0
    received = sorted(record.target_id for record in server.emulator.records)
    assert received == sorted(f"g{n}" for n in range(50))
    assert len(journal_outcomes(journal)) == 50
    out = capsys.readouterr()
    assert "group fan-out done: 50 sent, 0 failed, 0 unknown" in out.out
    assert f"journal: {journal}" in out.out
    assert "429 answers: 0; retries: 0; failovers: 0" in out.out
    assert "group: 50 sent" in out.err  # the final progress line
    assert _fanout(server, "group", targets, "--journal", str(journal)) == 0  # all skipped
    assert len(server.emulator.records) == 50


def test_chatrooms_take_custom_content_and_priority(server: Server, tmp_path: Path) -> None:
    targets = _targets(tmp_path, ["c1", "c2", "c3"])
    command = ["fanout", "chatroom", "--targets", str(targets), "--from-user", "u"]
    command += ["--object-name", "App:Ping", "--content", "not json", "--priority", "2"]
    command += ["--lane", "interactive"]
    assert main([*command, "--base-url", server.url, "--plain", "--pack-size", "2"]) == 0
    records = server.emulator.messages(chatroom="c3")
    assert records[0].content == "not json" and records[0].fields["priority"] == "2"
    assert [a.targets for a in server.emulator.arrivals] == [2, 1]


@pytest.mark.parametrize(("api", "pack"), [("private", 1000), ("system", 100)])
def test_users_get_private_or_system_messages_in_packs_of_their_document(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str], api: str, pack: int
) -> None:
    users = [f"u{n}&{n}" for n in range(pack + 5)]
    journal = tmp_path / "j.jsonl"
    extra = ("--journal", str(journal), "--push-content", "you have mail")
    assert _fanout(server, api, _targets(tmp_path, users), *extra) == 0
    assert [a.targets for a in server.emulator.arrivals] == [pack, 5]
    [record] = server.emulator.messages(**{api: "u3&3"})
    assert record.fields["pushContent"] == "you have mail"
    assert len(journal_outcomes(journal)) == pack + 5
    assert f"{api} fan-out done: {pack + 5} sent, 0 failed, 0 unknown" in capsys.readouterr().out


def test_the_exit_code_is_1_unless_every_target_was_sent(server: Server, tmp_path: Path) -> None:
    server.emulator.faults = Faults(error_rate=1.0)
    assert _fanout(server, "group", _targets(tmp_path, ["g1"]), "--concurrency", "1") == 1


def test_a_wrong_secret_stops_the_run_and_says_why(
    server: Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("RONGCLOUD_APP_SECRET", "wrong")
    assert _fanout(server, "group", _targets(tmp_path, ["g1", "g2"])) == 1
    assert "stopped early: RongCloud answered HTTP 401" in capsys.readouterr().out


def test_missing_credentials_or_files_are_usage_errors(
    server: Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _fanout(server, "group", tmp_path / "absent.txt") == 2
    monkeypatch.delenv("RONGCLOUD_APP_SECRET")
    assert _fanout(server, "group", _targets(tmp_path, ["g1"])) == 2
    assert "RONGCLOUD_APP_SECRET" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _fanout(server, "group", _targets(tmp_path, ["g1"]), "--lane", "urgent")


def test_the_progress_texts_show_counts_rate_against_quota_and_eta() -> None:
    report = FanoutReport(api="group", quota=20, total=100, sent=38, failed=1, unknown=1)
    report.elapsed, report.already_sent = 2.0, 10
    assert describe(report) == (
        "38 sent, 1 failed, 1 unknown, 10 skipped",
        "20.0/s of 20/s, ETA 2s",
    )
    report.total, report.done = 5000, True
    assert describe(report)[1] == "20.0/s of 20/s"


def test_the_rich_display_draws_a_row_per_fanout(tmp_path: Path) -> None:
    with (
        (tmp_path / "out.txt").open("w") as stream,
        open_display(plain=False, stream=stream) as display,
    ):
        group, room = display.track("group"), display.track("chatroom")
        group(FanoutReport(api="group", quota=20, total=10, sent=10, done=True))
        room(FanoutReport(api="chatroom"))
    drawn = (tmp_path / "out.txt").read_text()
    assert "group" in drawn and "10/10" in drawn and "chatroom" in drawn


def test_a_redis_journal_needs_its_name_and_a_name_needs_redis(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = _targets(tmp_path, ["g1"])
    assert _fanout(server, "group", targets, "--journal", "redis://127.0.0.1:1/0") == 2
    assert "--journal-name: is required" in capsys.readouterr().err
    assert _fanout(server, "group", targets, "--journal-name", "x") == 2
    assert "--journal-name: goes with --journal redis://" in capsys.readouterr().err
    unreachable = ["--journal", "redis://127.0.0.1:1/0", "--journal-name", "x"]
    assert _fanout(server, "group", targets, *unreachable) == 2
    assert "Redis cannot be reached" in capsys.readouterr().err
    assert server.emulator.records == []
