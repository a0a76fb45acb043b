"""`rongpub emulator`: flags, start-up line, clean stop on SIGINT / SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import httpx
import pytest

from rongpub._cli.main import build_parser
from rongpub.emulator import DEFAULT_APP_KEY, DEFAULT_APP_SECRET, Faults
from rongpub.emulator import _cli as cli

from .helpers import GROUP, encode, group_form, signed


def _args(*flags: str) -> argparse.Namespace:
    return build_parser().parse_args(["emulator", *flags])


def test_flags_configure_the_emulator() -> None:
    args = _args(
        *("--app-key", "K", "--app-secret", "S", "--group-limit", "5"),
        *("--chatroom-limit", "7", "--window", "fixed", "--latency", "0.05", "0.3"),
        *("--error-rate", "0.1", "--reset-before-rate", "0.2", "--reset-after-rate", "0.3"),
        *("--rate-limit-bursts", "10", "1", "--retry-after", "2", "--seed", "4"),
        *("--private-limit", "600", "--system-limit", "9", "--broadcast-limit", "2"),
        "--broadcast-disabled",
    )
    emulator = cli.build_emulator(args)
    assert (emulator.app_key, emulator.app_secret) == ("K", "S")
    assert emulator.limits == {
        "group": 5,
        "chatroom": 7,
        "private": 600,
        "system": 9,
        "broadcast": 2,
    }
    assert not emulator.broadcast_enabled
    assert emulator.window == "fixed"
    assert emulator.faults == Faults(
        latency=(0.05, 0.3),
        error_rate=0.1,
        reset_before_rate=0.2,
        reset_after_rate=0.3,
        rate_limit_every=10.0,
        rate_limit_length=1.0,
        retry_after=2.0,
    )


def test_credentials_default_to_the_environment_then_the_test_pair(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RONGCLOUD_APP_KEY", raising=False)
    monkeypatch.delenv("RONGCLOUD_APP_SECRET", raising=False)
    emulator = cli.build_emulator(_args())
    assert (emulator.app_key, emulator.app_secret) == (DEFAULT_APP_KEY, DEFAULT_APP_SECRET)
    monkeypatch.setenv("RONGCLOUD_APP_KEY", "env-key")
    monkeypatch.setenv("RONGCLOUD_APP_SECRET", "env-secret")
    emulator = cli.build_emulator(_args())
    assert (emulator.app_key, emulator.app_secret) == ("env-key", "env-secret")


def test_inconsistent_flags_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(_args("--latency", "0.3", "0.1")) == 2
    assert "latency" in capsys.readouterr().err


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_taken_port_exits_1(taken_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(_args("--port", str(taken_port))) == 1
    assert "cannot listen" in capsys.readouterr().err


def _publish_then_interrupt(url: str, codes: list[int]) -> None:
    body = encode(group_form())
    headers = signed(DEFAULT_APP_KEY, DEFAULT_APP_SECRET)
    codes.append(httpx.post(url + GROUP, content=body, headers=headers).status_code)
    os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C delivers


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_serves_until_sigint_in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], backend: str
) -> None:
    codes: list[int] = []
    threads: list[threading.Thread] = []

    def spy_print(*parts: object, **options: object) -> None:
        line = " ".join(map(str, parts))
        print(line)
        if "listening on" in line:
            url = line.split()[4]
            threads.append(threading.Thread(target=_publish_then_interrupt, args=(url, codes)))
            threads[0].start()

    monkeypatch.setattr(cli, "print", spy_print, raising=False)
    assert cli.run(_args("--port", "0", "--backend", backend)) == 0
    threads[0].join()
    assert codes == [200]
    out = capsys.readouterr().out
    assert (
        "group 20/s, chatroom 100/s, private 6000/60 s, system 100/s, broadcast 1/s, sliding" in out
    )
    assert out.rstrip().endswith("rongpub emulator stopped")
    assert DEFAULT_APP_SECRET not in out


def test_the_command_prints_its_url_and_stops_cleanly_on_ctrl_c() -> None:
    command = [sys.executable, "-m", "rongpub", "emulator", "--port", "0", "--app-key", "K"]
    env = {**os.environ, "RONGCLOUD_APP_SECRET": "S"}
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("rongpub emulator listening on http://127.0.0.1:")
        url = line.split()[4]
        response = httpx.post(url + GROUP, content=encode(group_form()), headers=signed("K", "S"))
        assert response.status_code == 200
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert out.strip() == "rongpub emulator stopped"
