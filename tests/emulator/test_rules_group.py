"""Every parameter rule of the group publish document, with the codes the server answers."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from rongpub.emulator import Emulator

from .helpers import APPS, FORM_TYPE, GROUP, TEXT, answer, code, group_form, post, signed

PARAM_ERROR = (400, 1002)
TOO_LONG = (400, 1005)
OK = (200, 200)
MENTION = json.dumps({"content": "hi", "mentionedInfo": {"type": 2, "userIdList": ["u2"]}})

# The two request bodies printed in group-publish.zh.txt, byte for byte.
DOC_EXAMPLE_1 = (
    "fromUserId=0MglYiqxW&toGroupId=d9Uia1h8C&content=%7B%22content%22%3A%22%40%E6%B5%8B%E8%AF"
    "%9511%20c%23hello%22%2C%22mentionedInfo%22%3A%7B%22type%22%3A2%2C%20%22userIdList%22%3A%5B"
    "%22wX7zFv8dR%22%5D%2C%22mentionedContent%22%3A%22%22%7D%7D&objectName=RC%3ATxtMsg"
    "&pushContent=thisisapush&pushData%22%3A%22hello%22%7D&isPersisted=1&isIncludeSender=0"
    "&isMentioned=1"
)
DOC_EXAMPLE_2 = (
    "content=%7B%22content%22%3A%22hello%22%2C%22extra%22%3A%22helloExtra%22%7D&fromUserId=2191"
    "&toGroupId=2193&toUserId=123&toUserId=456&objectName=RC%3ATxtMsg&pushContent=thisisapush"
    "&pushData%22%3A%22hello%22%7D&isPersisted=1&isIncludeSender=0&isMentioned=1&mentionedInfo="
    "%7B%22type%22%3A2%2C%22userIdList%22%3A%5B%22123%22%2C%22456%22%5D%2C%22mentionedContent"
    "%22%3A%22%E6%9C%89%E4%BA%BA%40%E4%BD%A0%22%7D"
)


@pytest.fixture
def emulator() -> Emulator:
    return Emulator(APPS)


@pytest.mark.parametrize("body", [DOC_EXAMPLE_1, DOC_EXAMPLE_2])
def test_the_documents_own_examples_are_accepted(emulator: Emulator, body: str) -> None:
    assert code(emulator.handle("POST", GROUP, signed(), body.encode())) == OK


def test_success_answers_one_message_uid_per_group(emulator: Emulator) -> None:
    reply = post(emulator, group_form(toGroupId=["g1", "g2", "g3"]))
    uids = answer(reply)["messageUIDs"]
    assert [entry["groupId"] for entry in uids] == ["g1", "g2", "g3"]
    assert len({entry["messageUID"] for entry in uids}) == 3
    assert reply.headers == (("content-type", "application/json; charset=utf-8"),)


def test_an_error_answer_has_code_and_error_message_naming_the_field(emulator: Emulator) -> None:
    body = answer(post(emulator, group_form(toGroupId=["g1", "g2", "g3", "g4"])))
    assert body["code"] == 1002
    assert body["errorMessage"].startswith("toGroupId")


@pytest.mark.parametrize(
    "fields",
    [
        {"toGroupId": ["g1", "g2", "g3", "g4"]},
        {"toGroupId": ""},
        {"toGroupId": ["g1", ""]},
        {"fromUserId": ""},
        {"fromUserId": ["u1", "u2"]},
        {"objectName": ""},
        {"content": ""},
        {"toGroupId": ["g1", "g2"], "toUserId": "u2"},
        {"toUserId": ["u2", ""]},
        {"objectName": "RC:MyOwnMsg"},
        {"content": "plain text"},
        {"content": "[1, 2]"},
    ],
)
def test_invalid_ids_types_and_contents_are_1002(
    strict: Emulator, fields: dict[str, str | list[str]]
) -> None:
    assert code(post(strict, group_form(**fields))) == PARAM_ERROR


@pytest.mark.parametrize("missing", ["fromUserId", "toGroupId", "objectName", "content"])
def test_each_required_field_is_1002_when_missing(emulator: Emulator, missing: str) -> None:
    form = group_form()
    del form[missing]
    reply = post(emulator, form)
    assert code(reply) == PARAM_ERROR
    assert missing in answer(reply)["errorMessage"]


@pytest.mark.parametrize(
    "name", ["isIncludeSender", "isPersisted", "isMentioned", "contentAvailable"]
)
@pytest.mark.parametrize("value", ["2", "-1", "yes", ""])
def test_int_flags_accept_only_0_or_1(strict: Emulator, name: str, value: str) -> None:
    assert code(post(strict, group_form(**{name: value}))) == PARAM_ERROR


@pytest.mark.parametrize("name", ["isIncludeSender", "isPersisted", "contentAvailable"])
def test_int_flags_0_and_1_pass(emulator: Emulator, name: str) -> None:
    assert code(post(emulator, group_form(**{name: "0"}))) == OK
    assert code(post(emulator, group_form(**{name: "1"}))) == OK


@pytest.mark.parametrize("value", ["true", "false", "True", "FALSE"])
def test_booleans_read_true_or_false_in_any_case(emulator: Emulator, value: str) -> None:
    assert code(post(emulator, group_form(expansion=value, disablePush=value))) == OK


@pytest.mark.parametrize("name", ["expansion", "disablePush"])
def test_booleans_reject_other_values(strict: Emulator, name: str) -> None:
    assert code(post(strict, group_form(**{name: "1"}))) == PARAM_ERROR


@pytest.mark.parametrize(
    "fields",
    [
        {"expansion": "true"},
        {"expansion": "true", "extraContent": '{"k":"v"}'},
        {"disablePush": "true"},
        {"pushExt": '{"title":"t"}'},
    ],
)
def test_single_group_fields_are_ignored_with_several_groups_or_to_user_id(
    strict: Emulator, fields: dict[str, str]
) -> None:
    # The document: "仅当 toGroupId 传入单个群组 ID 时有效" (takes effect only then): ignored,
    # not refused, even under strict mode; the emulator notes it.
    assert code(post(strict, group_form(**fields))) == OK
    assert code(post(strict, group_form(toGroupId=["g1", "g2"], **fields))) == OK
    assert code(post(strict, group_form(toUserId="u2", **fields))) == OK
    assert {w.rule for w in strict.warnings()} == {"ignored-field"}
    assert {w.field for w in strict.warnings()} == set(fields)


def test_built_in_rc_types_are_allowed_and_custom_types_may_carry_any_content(
    emulator: Emulator,
) -> None:
    assert code(post(emulator, group_form(objectName="RC:ImgMsg"))) == OK
    assert code(post(emulator, group_form(objectName="App:Custom", content="not json"))) == OK


def test_object_name_is_at_most_32_characters(emulator: Emulator) -> None:
    assert code(post(emulator, group_form(objectName="A" * 32, content="x"))) == OK
    assert code(post(emulator, group_form(objectName="A" * 33, content="x"))) == TOO_LONG


def test_content_is_at_most_128_kib(emulator: Emulator) -> None:
    limit = 128 * 1024
    assert code(post(emulator, group_form(objectName="App:Blob", content="x" * limit))) == OK
    too_big = group_form(objectName="App:Blob", content="x" * (limit + 1))
    assert code(post(emulator, too_big)) == TOO_LONG


def test_content_size_counts_utf8_bytes(emulator: Emulator) -> None:
    three_byte_chars = "你" * (128 * 1024 // 3 + 1)
    assert code(post(emulator, group_form(objectName="App:Blob", content=three_byte_chars))) == (
        TOO_LONG
    )


@pytest.mark.parametrize("field", ["fromUserId", "toGroupId", "toUserId"])
def test_ids_are_at_most_64_characters(emulator: Emulator, field: str) -> None:
    assert code(post(emulator, group_form(**{field: "i" * 64}))) == OK
    assert code(post(emulator, group_form(**{field: "i" * 65}))) == TOO_LONG


def test_mention_needs_mentioned_info_in_content(emulator: Emulator) -> None:
    assert code(post(emulator, group_form(isMentioned="1", content=MENTION))) == OK
    assert code(post(emulator, group_form(isMentioned="1"))) == PARAM_ERROR
    assert code(post(emulator, group_form(isMentioned="0"))) == OK


@pytest.mark.parametrize(
    "info",
    [
        {"type": 3, "userIdList": ["u2"]},
        {"type": 2, "userIdList": []},
        {"type": 2, "userIdList": "u2"},
        {"type": 2, "userIdList": [7]},
        "everyone",
    ],
)
def test_malformed_mentioned_info_is_1002(emulator: Emulator, info: object) -> None:
    content = json.dumps({"content": "hi", "mentionedInfo": info})
    assert code(post(emulator, group_form(isMentioned="1", content=content))) == PARAM_ERROR


def test_mention_of_everyone_needs_no_user_list(emulator: Emulator) -> None:
    content = json.dumps({"content": "hi", "mentionedInfo": {"type": 1}})
    assert code(post(emulator, group_form(isMentioned="1", content=content))) == OK


def test_directed_mentions_must_name_only_to_user_ids(emulator: Emulator) -> None:
    assert code(post(emulator, group_form(isMentioned="1", content=MENTION, toUserId="u2"))) == OK
    outside = group_form(isMentioned="1", content=MENTION, toUserId="u3")
    assert code(post(emulator, outside)) == PARAM_ERROR


def test_mentioned_info_form_field_must_be_a_json_object(emulator: Emulator) -> None:
    fields = group_form(isMentioned="1", mentionedInfo="[1]")
    assert code(post(emulator, fields)) == PARAM_ERROR


def test_extra_content_without_expansion_true_is_ignored(strict: Emulator) -> None:
    # "仅当 expansion 为 true 时有效": ignored (not even checked), not refused
    assert code(post(strict, group_form(extraContent="not json"))) == OK
    fields = group_form(expansion="false", extraContent='{"k":"v"}')
    assert code(post(strict, fields)) == OK
    assert [w.field for w in strict.warnings()] == ["extraContent", "extraContent"]


def _extra(pairs: dict[str, object]) -> dict[str, str | Sequence[str]]:
    return group_form(expansion="true", extraContent=json.dumps(pairs))


def test_extra_content_limits(emulator: Emulator) -> None:
    assert code(post(emulator, _extra({f"k{i}": "v" for i in range(100)}))) == OK
    assert code(post(emulator, _extra({f"k{i}": "v" for i in range(101)}))) == PARAM_ERROR
    assert code(post(emulator, _extra({"K+=-_9" * 5 + "ab": "v"}))) == OK
    assert code(post(emulator, _extra({"k" * 33: "v"}))) == TOO_LONG
    assert code(post(emulator, _extra({"k": "v" * 4096}))) == OK
    assert code(post(emulator, _extra({"k": "v" * 4097}))) == TOO_LONG


@pytest.mark.parametrize("pairs", [{"bad key": "v"}, {"键": "v"}, {"": "v"}, {"k": 3}])
def test_extra_content_keys_and_values_are_checked(
    strict: Emulator, pairs: dict[str, object]
) -> None:
    assert code(post(strict, _extra(pairs))) == PARAM_ERROR


@pytest.mark.parametrize("text", ["not json", '["k"]'])
def test_extra_content_must_be_a_json_object(emulator: Emulator, text: str) -> None:
    assert code(post(emulator, group_form(expansion="true", extraContent=text))) == PARAM_ERROR


def _push_ext(ext: object) -> dict[str, str | Sequence[str]]:
    return group_form(pushExt=json.dumps(ext))


def test_push_ext_title_is_at_most_50_characters(emulator: Emulator) -> None:
    assert code(post(emulator, _push_ext({"title": "t" * 50}))) == OK
    assert code(post(emulator, _push_ext({"title": "t" * 51}))) == TOO_LONG


def test_the_documents_push_ext_example_is_accepted(emulator: Emulator) -> None:
    example = {
        "title": "you have a new message.",
        "templateId": "123456",
        "forceShowPushContent": 0,
        "pushConfigs": [
            {"HW": {"channelId": "hw-123", "importance": "NORMAL"}},
            {"MI": {"channelId": "mi-123"}},
            {"OPPO": {"channelId": "oppo-123"}},
            {"VIVO": {"classification": "0"}},
            {"APNs": {"thread-id": "123", "apns-collapse-id": "123456"}},
            {"FCM": {"channelId": "rongcloud_channelid", "collapse_key": "1234"}},
            {"OHOS": {"category": "IM"}},
            {"HONOR": {"importance": "NORMAL"}},
        ],
    }
    assert code(post(emulator, _push_ext(example))) == OK


@pytest.mark.parametrize(
    "ext",
    [
        ["title"],
        {"title": 5},
        {"templateId": 123456},
        {"forceShowPushContent": 2},
        {"pushConfigs": {"HW": {}}},
        {"pushConfigs": [{"NOKIA": {}}]},
        {"pushConfigs": [{"HW": "hw-123"}]},
    ],
)
def test_malformed_push_ext_is_1002(strict: Emulator, ext: object) -> None:
    assert code(post(strict, _push_ext(ext))) == PARAM_ERROR


def test_push_ext_must_be_json(emulator: Emulator) -> None:
    assert code(post(emulator, group_form(pushExt="{title"))) == PARAM_ERROR


@pytest.mark.parametrize("content_type", [None, "application/json", "text/plain"])
def test_body_must_be_a_form(emulator: Emulator, content_type: str | None) -> None:
    headers = signed()
    del headers["content-type"]
    if content_type is not None:
        headers["content-type"] = content_type
    assert code(post(emulator, group_form(), headers=headers)) == PARAM_ERROR


def test_form_content_type_with_a_charset_is_fine(emulator: Emulator) -> None:
    headers = signed()
    headers["content-type"] = FORM_TYPE + "; charset=UTF-8"
    assert code(post(emulator, group_form(), headers=headers)) == OK


def test_body_must_decode_as_utf8(emulator: Emulator) -> None:
    body = b"fromUserId=%FF&toGroupId=g1&objectName=RC%3ATxtMsg&content=" + TEXT.encode()
    assert code(emulator.handle("POST", GROUP, signed(), body)) == PARAM_ERROR


def test_unlisted_fields_are_kept_but_not_judged(emulator: Emulator) -> None:
    assert code(post(emulator, group_form(somethingNew="x"))) == OK
    assert emulator.records[0].fields == {"somethingNew": "x"}


def test_rejected_requests_are_not_recorded(emulator: Emulator) -> None:
    post(emulator, group_form(toGroupId=["g1", "g2", "g3", "g4"]))
    assert emulator.records == []
    assert [arrival.outcome for arrival in emulator.arrivals] == ["rejected"]
