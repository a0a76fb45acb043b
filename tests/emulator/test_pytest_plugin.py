"""The `rongcloud_emulator` fixtures as users meet them, with rongpub's own client."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from rongpub import (
    AuthenticationError,
    DeliveryUnknownError,
    RateLimitedError,
    RejectedError,
    RetryPolicy,
    TextMessage,
)
from rongpub.emulator import EmulatorFixture, Faults, Server

from .helpers import GROUP, encode, group_form, signed


@pytest.mark.anyio
async def test_the_client_publishes_to_groups_and_the_records_show_it(
    rongcloud_emulator: EmulatorFixture,
) -> None:
    result = await rongcloud_emulator.client.publish_group(
        from_user_id="u1", group_ids=["g1", "g2"], content=TextMessage(content="hello")
    )
    [record] = rongcloud_emulator.messages(group="g2")
    assert result.message_uids["g2"] == record.message_uid
    assert record.request_id == result.request_id
    assert (record.from_user_id, record.object_name) == ("u1", "RC:TxtMsg")
    assert record.content_json() == {"content": "hello"}
    assert len(rongcloud_emulator.records) == 2


@pytest.mark.anyio
async def test_the_client_publishes_to_chatrooms(rongcloud_emulator: EmulatorFixture) -> None:
    await rongcloud_emulator.client.publish_chatroom(
        from_user_id="u1", chatroom_ids=["c1"], content={"content": "hi"}, object_name="RC:TxtMsg"
    )
    assert rongcloud_emulator.stats()["chatroom"].accepted_targets == 1


@pytest.mark.anyio
async def test_private_system_and_broadcast_sends_are_recorded(
    rongcloud_emulator: EmulatorFixture,
) -> None:
    client, text = rongcloud_emulator.client, TextMessage(content="hi")
    private = await client.publish_private(from_user_id="s", to_user_ids=["u1", "u2"], content=text)
    await client.publish_system(from_user_id="s", to_user_ids=["u2"], content=text)
    await client.broadcast_chatroom(from_user_id="s", content=text)
    [record] = rongcloud_emulator.messages(private="u2")
    assert record.message_uid == private.message_uids["u2"]
    assert [r.api for r in rongcloud_emulator.messages(system="u2")] == ["system"]
    assert len(rongcloud_emulator.messages(api="broadcast")) == 1
    stats = rongcloud_emulator.stats()
    assert [stats[api].accepted_targets for api in ("private", "system", "broadcast")] == [2, 1, 1]


@pytest.mark.rongcloud_emulator(broadcast_enabled=False)
@pytest.mark.anyio
async def test_the_marker_switches_the_broadcast_service_off(
    rongcloud_emulator: EmulatorFixture,
) -> None:
    with pytest.raises(RejectedError) as caught:
        await rongcloud_emulator.client.broadcast_chatroom(
            from_user_id="s", content=TextMessage(content="hi")
        )
    assert (caught.value.status_code, caught.value.code) == (430, 1009)


@pytest.mark.rongcloud_emulator(
    group_limit=1, client_options={"rate_limits": None, "retry": RetryPolicy(rate_limited=0)}
)
@pytest.mark.anyio
async def test_marker_options_configure_emulator_and_client(
    rongcloud_emulator: EmulatorFixture,
) -> None:
    client = rongcloud_emulator.client
    await client.publish_group(
        from_user_id="u1", group_ids=["g1"], content=TextMessage(content="1")
    )
    with pytest.raises(RateLimitedError):
        await client.publish_group(
            from_user_id="u1", group_ids=["g1"], content=TextMessage(content="2")
        )
    assert rongcloud_emulator.stats()["group"].rate_limited == 1


@pytest.mark.rongcloud_emulator(faults=Faults(reset_after_rate=1.0))
@pytest.mark.anyio
async def test_an_injected_reset_reaches_the_client_as_delivery_unknown(
    rongcloud_emulator: EmulatorFixture,
) -> None:
    with pytest.raises(DeliveryUnknownError):
        await rongcloud_emulator.client.publish_group(
            from_user_id="u1", group_ids=["g1"], content=TextMessage(content="x")
        )
    assert len(rongcloud_emulator.messages(group="g1")) == 1  # delivered all the same


@pytest.mark.anyio
async def test_make_client_overrides_options(rongcloud_emulator: EmulatorFixture) -> None:
    intruder = rongcloud_emulator.make_client(app_secret="not-the-secret")
    with pytest.raises(AuthenticationError):
        await intruder.publish_group(
            from_user_id="u1", group_ids=["g1"], content=TextMessage(content="x")
        )
    assert rongcloud_emulator.client is rongcloud_emulator.client


@pytest.mark.rongcloud_emulator(apps={"k": "s"}, client_options={"timeout": 2.0})
def test_the_server_fixture_listens_on_loopback(rongcloud_emulator_server: Server) -> None:
    response = httpx.post(
        rongcloud_emulator_server.url + GROUP,
        content=encode(group_form()),
        headers=signed("k", "s"),
    )
    assert response.status_code == 200
    assert rongcloud_emulator_server.emulator.messages(group="g1")


def test_loading_the_plugin_imports_no_emulator_module() -> None:
    code = (
        "import sys, rongpub.emulator.pytest_plugin; "
        "print([m for m in sys.modules if m.startswith('rongpub.emulator.')])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "['rongpub.emulator.pytest_plugin']"


def test_the_fixture_works_without_the_anyio_plugin(tmp_path: Path) -> None:
    test_file = tmp_path / "test_user.py"
    test_file.write_text(
        textwrap.dedent(
            """
            import asyncio

            from rongpub import TextMessage

            def test_publish(rongcloud_emulator):
                async def send():
                    return await rongcloud_emulator.client.publish_group(
                        from_user_id="u1", group_ids=["g1"], content=TextMessage(content="hi")
                    )

                result = asyncio.run(send())
                assert rongcloud_emulator.messages(group="g1")[0].message_uid == (
                    result.message_uids["g1"]
                )
            """
        )
    )
    # No plugin autoloading (so no anyio plugin); the emulator's plugin is named explicitly.
    command = [sys.executable, "-m", "pytest", "-q", "-p", "rongpub.emulator.pytest_plugin"]
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    result = subprocess.run(
        [*command, "-p", "no:cacheprovider", "-W", "error", str(test_file)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
