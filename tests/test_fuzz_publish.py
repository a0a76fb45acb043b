"""Hypothesis drives every publish call (group, chatroom, private, system, broadcast) with
arbitrary arguments against the
in-process emulator (strict mode): either the client refuses the call before anything is sent
(InvalidRequestError, or TypeError for an argument Python itself rejects), or the emulator
accepts the request. Never another exception, never a request the server refuses."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rongpub import (
    APIError,
    InvalidRequestError,
    MentionedInfo,
    PublishResult,
    PushExt,
    TextMessage,
)
from rongpub._constants import BUILTIN_OBJECT_NAMES, MAX_CONTENT_BYTES

from .fanout.helpers import emulator_client, lifted_emulator

# RONGPUB_FUZZ_EXAMPLES=2000 for a longer hunt; the suite's default stays a few seconds.
_EXAMPLES = int(os.environ.get("RONGPUB_FUZZ_EXAMPLES", "150"))

# Any code point, lone surrogates included (hypothesis leaves category Cs out by default).
chars = st.characters(blacklist_categories=())
texts = st.text(chars, max_size=12)
plain = st.text(max_size=12)  # valid Unicode


def mostly(valid: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Valid values three times in four, so that many calls get as far as the server."""
    return st.sampled_from([True, True, True, False]).flatmap(lambda ok: valid if ok else odd)


valid_ids = st.one_of(
    st.text(st.characters(min_codepoint=33, max_codepoint=0x4E2D), min_size=1, max_size=8),
    st.sampled_from(["a&b=c+d", "群组", "g" * 64]),
)
ids = mostly(
    valid_ids,
    st.one_of(st.sampled_from(["g" * 65, "", "x\ud800"]), texts, st.integers(), st.none()),
)
id_lists = mostly(
    st.lists(valid_ids, min_size=1, max_size=3, unique=True),
    st.one_of(st.lists(ids, max_size=5), ids),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2, 3), st.floats(allow_nan=False), texts)
flags = mostly(st.one_of(st.booleans(), st.sampled_from([0, 1])), scalars)
booleans = mostly(st.booleans(), scalars)
words = mostly(plain, scalars)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), texts),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)),
    max_leaves=12,
)


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"k": value}
    return value


mentions = st.builds(
    MentionedInfo,
    type=st.sampled_from([1, 2, 3]),
    user_ids=st.none() | st.lists(st.sampled_from(["u1", "u2"]), max_size=2),
)
valid_contents = st.one_of(
    st.builds(TextMessage, content=plain),
    st.builds(TextMessage, content=st.just("hi"), mentioned_info=mentions),
    st.dictionaries(plain, st.one_of(plain, st.integers()), max_size=4),
    st.fixed_dictionaries(
        {
            "content": plain,
            "mentionedInfo": st.fixed_dictionaries(
                {"type": st.sampled_from([1, 2, 3]), "userIdList": st.lists(ids, max_size=2)}
            ),
        }
    ),
    st.sampled_from(['{"content":"hi"}', "plain text"]),
)
contents = mostly(
    valid_contents,
    st.one_of(
        st.dictionaries(texts, json_values, max_size=4),
        st.sampled_from([100, 101, 999, 1200]).map(_nested),
        texts,
        st.binary(max_size=8),
        st.sampled_from([MAX_CONTENT_BYTES, MAX_CONTENT_BYTES + 1]).map(lambda n: "x" * n),
        st.sampled_from(["[1]", "null", ""]),
        st.none(),
        st.integers(),
        st.lists(st.integers(), max_size=2),
    ),
)
object_names = mostly(
    st.one_of(st.just("App:Custom"), st.sampled_from(sorted(BUILTIN_OBJECT_NAMES)), st.none()),
    st.one_of(
        st.sampled_from(["RC:NotAType", "X" * 32, "X" * 33, "X:\ud800", ""]), texts, st.integers()
    ),
)
push_exts = mostly(
    st.builds(PushExt, title=st.one_of(plain, st.sampled_from(["t" * 50, "t" * 51]))),
    st.one_of(st.builds(PushExt, title=st.integers()), st.builds(PushExt, title=texts), scalars),
)
extras = mostly(
    st.dictionaries(
        st.from_regex(r"[A-Za-z0-9+=\-_]{1,32}", fullmatch=True),
        st.one_of(plain, st.just("v" * 4096)),
        max_size=3,
    ),
    st.one_of(
        st.dictionaries(texts, st.one_of(texts, st.just("v" * 4097), st.integers()), max_size=3),
        st.just({"k" * 33: "v"}),
        scalars,
    ),
)


def _optional(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


group_calls = st.tuples(
    st.fixed_dictionaries(
        {
            "from_user_id": ids,
            "group_ids": id_lists,
            "content": contents,
            "object_name": object_names,
        }
    ),
    _optional(
        to_user_ids=id_lists,
        push_content=words,
        push_data=words,
        include_sender=flags,
        persisted=flags,
        mentioned=flags,
        content_available=flags,
        expansion=booleans,
        extra_content=extras,
        disable_push=booleans,
        push_ext=push_exts,
    ),
)
chatroom_calls = st.tuples(
    st.fixed_dictionaries(
        {
            "from_user_id": ids,
            "chatroom_ids": id_lists,
            "content": contents,
            "object_name": object_names,
        }
    ),
    _optional(
        persisted=flags,
        include_sender=flags,
        priority=mostly(st.integers(0, 3), st.one_of(scalars, st.integers(-1, 5))),
    ),
)
_core = {"from_user_id": ids, "content": contents, "object_name": object_names}
user_lists = mostly(
    st.lists(valid_ids, min_size=1, max_size=4, unique=True),
    st.one_of(st.lists(ids, max_size=5), ids),
)
private_calls = st.tuples(
    st.fixed_dictionaries({**_core, "to_user_ids": user_lists}),
    _optional(
        push_content=words,
        push_data=words,
        badge=mostly(st.integers(-1, 9999), st.one_of(scalars, st.integers(-3, 10_001))),
        verify_blacklist=flags,
        persisted=flags,
        include_sender=flags,
        content_available=flags,
        expansion=booleans,
        extra_content=extras,
        disable_push=booleans,
        push_ext=push_exts,
    ),
)
system_calls = st.tuples(
    st.fixed_dictionaries({**_core, "to_user_ids": user_lists}),
    _optional(
        push_content=words,
        push_data=words,
        persisted=flags,
        counted=flags,
        content_available=flags,
        disable_push=booleans,
        push_ext=push_exts,
    ),
)
broadcast_calls = st.tuples(st.fixed_dictionaries(_core), _optional(include_sender=flags))


async def _check(api: str, kwargs: dict[str, Any]) -> None:
    emulator = lifted_emulator(strict=True)
    async with emulator_client(emulator) as rc:
        calls: dict[str, Callable[..., Awaitable[PublishResult]]] = {
            "group": rc.publish_group,
            "chatroom": rc.publish_chatroom,
            "private": rc.publish_private,
            "system": rc.publish_system,
            "broadcast": rc.broadcast_chatroom,
        }
        publish = calls[api]
        try:
            result = await publish(**kwargs)
        except (InvalidRequestError, TypeError):
            event("refused")
            assert emulator.arrivals == [], "refused, yet a request was sent"
            return
        except APIError as exc:  # the client let through what the server refuses
            pytest.fail(f"the emulator refused what the client sent: {exc!r} for {kwargs!r}")
    event("accepted")
    assert len(emulator.arrivals) == 1
    uids = 1 if api == "broadcast" else len(result.message_uids)  # one record, no uid
    assert len(emulator.records) == uids >= 1


_settings = settings(
    max_examples=_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@_settings
@given(call=group_calls)
def test_publish_group_either_refuses_before_sending_or_is_accepted(
    call: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    anyio.run(_check, "group", {**call[0], **call[1]})


@_settings
@given(call=chatroom_calls)
def test_publish_chatroom_either_refuses_before_sending_or_is_accepted(
    call: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    anyio.run(_check, "chatroom", {**call[0], **call[1]})


@_settings
@given(call=private_calls)
def test_publish_private_either_refuses_before_sending_or_is_accepted(
    call: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    anyio.run(_check, "private", {**call[0], **call[1]})


@_settings
@given(call=system_calls)
def test_publish_system_either_refuses_before_sending_or_is_accepted(
    call: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    anyio.run(_check, "system", {**call[0], **call[1]})


@_settings
@given(call=broadcast_calls)
def test_broadcast_chatroom_either_refuses_before_sending_or_is_accepted(
    call: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    anyio.run(_check, "broadcast", {**call[0], **call[1]})
