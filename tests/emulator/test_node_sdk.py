"""The official Node SDK (rongcloud-sdk 3.1.1) against the loopback server (issue #19).

`.ci/run` installs the package into `.nox/node` when `node` exists (set RONGPUB_NODE_MODULES
to use another node_modules); without either, these tests are skipped with the reason. The SDK
signs once at start-up, sends ids unencoded in its own field order, and passes any extra field
through, so the cases below are sent exactly as a Node user's code would send them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rongpub.emulator import Emulator, Server, run_in_thread

from .helpers import APPS, KEY, SECRET

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("node") / "drive_sdk.js"
MODULES = Path(os.environ.get("RONGPUB_NODE_MODULES", ROOT / ".nox" / "node" / "node_modules"))
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
    pytest.mark.skipif(
        not (MODULES / "rongcloud-sdk").is_dir(),
        reason=f"rongcloud-sdk is not installed in {MODULES} (.ci/run installs it)",
    ),
]


@pytest.fixture(scope="module")
def module_server() -> Iterator[Server]:
    with run_in_thread(Emulator(APPS)) as server:
        yield server


@pytest.fixture
def server(module_server: Server) -> Server:
    module_server.emulator.reset()
    return module_server


def drive(server: Server, case: str) -> dict[str, Any]:
    """Run one case of the driver script; what the SDK resolved with."""
    assert NODE is not None
    command = [NODE, str(DRIVER), str(MODULES), server.url, KEY, SECRET, case]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    outcome: dict[str, Any] = json.loads(done.stdout)
    assert "result" in outcome, outcome
    result: dict[str, Any] = outcome["result"]
    return result


@pytest.mark.parametrize("count", [1, 2, 3])
def test_group_send_to_one_two_and_three_groups(server: Server, count: int) -> None:
    result = drive(server, f"group{count}")
    groups = [f"g{i + 1}" for i in range(count)]
    assert result["code"] == 200
    assert [entry["groupId"] for entry in result["messageUIDs"]] == groups
    assert [record.target_id for record in server.emulator.records] == groups


def test_directed_group_send(server: Server) -> None:
    assert drive(server, "directed")["code"] == 200
    assert server.emulator.records[0].to_user_ids == ("u2", "u3")


def test_push_ext(server: Server) -> None:
    assert drive(server, "pushExt")["code"] == 200
    push_ext = json.loads(server.emulator.records[0].fields["pushExt"])
    assert push_ext["pushConfigs"] == [{"HW": {"channelId": "c"}}]


def test_expansion_with_extra_content(server: Server) -> None:
    assert drive(server, "expansion")["code"] == 200
    fields = server.emulator.records[0].fields
    assert (fields["expansion"], json.loads(fields["extraContent"])) == ("true", {"k": "v"})


def test_mention(server: Server) -> None:
    assert drive(server, "mention")["code"] == 200
    content = server.emulator.records[0].content_json()
    assert content["mentionedInfo"] == {"type": 2, "userIdList": ["u2"]}
    assert server.emulator.records[0].fields["isMentioned"] == "1"


@pytest.mark.parametrize("count", [1, 10, 11])
def test_chatroom_send_to_1_10_and_11_rooms(server: Server, count: int) -> None:
    result = drive(server, f"chatroom{count}")
    assert result["code"] == 200
    assert len(result["messageUIDs"]) == count
    assert len(server.emulator.messages()) == count


def test_a_forced_429_reaches_the_sdk_as_its_rate_limit_error(server: Server) -> None:
    server.emulator.force_rate_limit(requests=1)
    result = drive(server, "group1")
    assert result["code"] == "20001"  # the SDK's own code for the server's 1008
    assert server.emulator.records == []
    assert drive(server, "group1")["code"] == 200


def test_no_case_needed_a_relaxed_rule(server: Server) -> None:
    for case in ("group3", "directed", "pushExt", "expansion", "mention", "chatroom11"):
        drive(server, case)
    assert server.emulator.warnings() == []
