"""What the stricter checks of issue #13 (cases 8-10) still let through: ids of 64
characters, the documents' 0/1 flags, mentions in dict content, and the False defaults other
SDKs always send (#19 item 1). The refused cases are in test_validation.py."""

from __future__ import annotations

from typing import Any

import pytest

from rongpub import TextMessage

from .mock_api import MockAPI

pytestmark = pytest.mark.anyio

TEXT = TextMessage(content="hi")
GROUP: dict[str, Any] = {"from_user_id": "u", "group_ids": ["g"], "content": TEXT}


async def test_ids_of_64_characters_and_0_1_flags_are_sent() -> None:
    api = MockAPI()
    async with api.client() as rc:
        await rc.publish_group(
            **{**GROUP, "group_ids": ["g" * 64], "from_user_id": "u" * 64, "persisted": 0},
            include_sender=1,  # type: ignore[arg-type]  # the documents' 0/1 pass too
        )
    body = api.requests[0].content
    assert b"isPersisted=0" in body and b"isIncludeSender=1" in body


@pytest.mark.parametrize(
    "change",
    [
        {"group_ids": ["a", "b", "c"], "expansion": False, "disable_push": False},
        {"to_user_ids": ["x"], "expansion": False, "disable_push": False},
    ],
    ids=["three groups", "directed"],
)
async def test_false_single_group_flags_pass_as_the_go_sdk_sends_them(
    change: dict[str, Any],
) -> None:
    api = MockAPI()
    async with api.client() as rc:
        await rc.publish_group(**{**GROUP, **change})
    assert b"expansion=false" in api.requests[0].content


async def test_a_mention_in_dict_content_is_sent() -> None:
    api = MockAPI()
    content = {"content": "hi", "mentionedInfo": {"type": 2, "userIdList": ["x"]}}
    async with api.client() as rc:
        await rc.publish_group(
            **GROUP | {"object_name": "RC:TxtMsg", "content": content},
            mentioned=True,
            to_user_ids=["x"],
        )
    assert len(api.requests) == 1
