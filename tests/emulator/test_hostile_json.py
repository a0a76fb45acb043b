"""Issue #13 case 11: JSON nested 1,200 deep in a signed request is 400/1002 naming the field,
and the server keeps serving (msgspec raises RecursionError there, which used to escape)."""

from __future__ import annotations

import json

import httpx
import pytest

from rongpub.emulator import Emulator, run_in_thread

from .helpers import APPS, encode, group_form, signed

DEPTH = 1200
DEEP = '{"a":' * DEPTH + "1" + "}" * DEPTH


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"content": DEEP}, "content"),
        ({"content": DEEP, "objectName": "App:Custom"}, "content"),
        ({"expansion": "true", "extraContent": DEEP}, "extraContent"),
        ({"pushExt": DEEP}, "pushExt"),
        ({"isMentioned": "1", "mentionedInfo": DEEP}, "mentionedInfo"),
    ],
)
def test_deep_json_is_1002_naming_the_field_and_the_server_survives(
    fields: dict[str, str], field: str
) -> None:
    body = encode(group_form(**fields))
    assert 7_000 < len(body) < 40_000  # one small signed request
    with run_in_thread(Emulator(APPS)) as server, httpx.Client(base_url=server.url) as http:
        reply = http.post("/message/group/publish.json", headers=signed(), content=body)
        assert (reply.status_code, reply.json()["code"]) == (400, 1002)
        assert reply.json()["errorMessage"] == f"{field}: JSON nested too deeply"
        again = http.post(
            "/message/group/publish.json", headers=signed(), content=encode(group_form())
        )
        assert again.status_code == 200


def test_shallow_nesting_is_still_fine() -> None:
    content = json.dumps({"content": "x", "extra": json.loads('{"a":' * 50 + "1" + "}" * 50)})
    with run_in_thread(Emulator(APPS)) as server:
        reply = httpx.post(
            server.url + "/message/group/publish.json",
            headers=signed(),
            content=encode(group_form(content=content)),
        )
    assert reply.status_code == 200
