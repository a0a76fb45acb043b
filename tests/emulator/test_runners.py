"""Running the real server from synchronous code: a background thread, a child process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import httpx
import pytest

from rongpub.emulator import (
    DEFAULT_APP_KEY,
    DEFAULT_APP_SECRET,
    Emulator,
    EmulatorProcess,
    Faults,
    run_in_thread,
    start_in_subprocess,
)

from .helpers import CHATROOM, GROUP, Fields, chatroom_form, encode, group_form, signed

HEADERS = signed(DEFAULT_APP_KEY, DEFAULT_APP_SECRET)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_run_in_thread_serves_and_records(backend: Literal["asyncio", "trio"]) -> None:
    with run_in_thread(backend=backend) as server:
        response = httpx.post(server.url + GROUP, content=encode(group_form()), headers=HEADERS)
        assert response.status_code == 200
        assert [r.target_id for r in server.emulator.messages(group="g1")] == ["g1"]
    with pytest.raises(httpx.ConnectError):  # stopped with the block
        httpx.post(server.url + GROUP, content=b"", headers=HEADERS)


def test_run_in_thread_uses_the_emulator_given() -> None:
    emulator = Emulator({"k": "s"}, group_limit=1)
    with run_in_thread(emulator) as server:
        assert server.emulator is emulator


@pytest.fixture(scope="module")
def child() -> Iterator[EmulatorProcess]:
    # Sliding: a fixed window would let the second send through whenever the two straddle
    # a calendar second; a sliding one only if they arrive over a second apart.
    with start_in_subprocess(group_limit=2, window="sliding", seed=5) as process:
        yield process


def _publish(child: EmulatorProcess, path: str, form: Fields) -> httpx.Response:
    headers = signed(child.app_key, child.app_secret)
    return httpx.post(child.url + path, content=encode(form), headers=headers)


def test_subprocess_serves_and_reports_over_http(child: EmulatorProcess) -> None:
    child.reset()
    assert _publish(child, GROUP, group_form(toGroupId=["g1", "g2"])).status_code == 200
    assert _publish(child, GROUP, group_form()).status_code == 429  # its limit is 2
    assert _publish(child, CHATROOM, chatroom_form()).status_code == 200
    assert [r.target_id for r in child.messages(group="g2")] == ["g2"]
    assert [r.api for r in child.messages(chatroom="c1")] == ["chatroom"]
    stats = child.stats()
    assert (stats["group"].accepted_targets, stats["group"].rate_limited) == (2, 1)
    assert [a.outcome for a in child.arrivals()] == ["accepted", "rate_limited", "accepted"]


def test_subprocess_faults_and_bursts_switch_over_http(child: EmulatorProcess) -> None:
    child.reset()
    child.set_faults(Faults(error_rate=1.0))
    assert _publish(child, CHATROOM, chatroom_form()).status_code in (500, 504)
    child.set_faults(Faults())
    child.force_rate_limit(requests=1)
    assert _publish(child, CHATROOM, chatroom_form()).status_code == 429
    assert _publish(child, CHATROOM, chatroom_form()).status_code == 200
    assert child.stats()["chatroom"].injected_rate_limited == 1


def test_subprocess_switches_the_broadcast_service_over_http(child: EmulatorProcess) -> None:
    child.reset()
    form = {"fromUserId": "s", "objectName": "RC:TxtMsg", "content": '{"content":"hi"}'}
    child.set_broadcast_enabled(False)
    assert _publish(child, "/message/chatroom/broadcast.json", form).json()["code"] == 1009
    child.set_broadcast_enabled(True)
    child.reset()  # forgets the quota the refused broadcast took (one a second)
    assert _publish(child, "/message/chatroom/broadcast.json", form).status_code == 200
    assert [r.api for r in child.messages(api="broadcast")] == ["broadcast"]


def test_subprocess_stops_on_close() -> None:
    process = start_in_subprocess(
        faults=Faults(latency=(0.0, 0.01)), broadcast_enabled=False, system_limit=1
    )
    assert "pid=" in repr(process)
    form = {"fromUserId": "s", "objectName": "RC:TxtMsg", "content": '{"content":"hi"}'}
    assert _publish(process, "/message/chatroom/broadcast.json", form).json()["code"] == 1009
    two = {**form, "toUserId": ["u1", "u2"]}
    assert _publish(process, "/message/system/publish.json", two).status_code == 429
    process.close()
    assert process.process.returncode == 0


def test_a_child_that_cannot_start_is_reported() -> None:
    with pytest.raises(RuntimeError, match="did not start"):
        start_in_subprocess(host="203.0.113.1")  # not an address of this machine
