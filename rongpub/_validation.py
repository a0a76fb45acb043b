"""The parameter rules of the two publish documents, checked before anything is sent.

Each check raises `InvalidRequestError` naming the field by its Python name; each returns
the value in its wire form, so validating and encoding happen in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from ._constants import (
    BUILTIN_OBJECT_NAMES,
    EXTRA_KEY_CHARS,
    MAX_CONTENT_BYTES,
    MAX_EXTRA_KEY,
    MAX_EXTRA_PAIRS,
    MAX_EXTRA_VALUE,
    MAX_ID_LENGTH,
    MAX_JSON_DEPTH,
    MAX_OBJECT_NAME,
    MAX_PUSH_TITLE,
)
from ._exceptions import InvalidRequestError
from ._messages import Message, TextMessage
from ._push import PushExt

__all__ = [
    "boolean_field",
    "check_id",
    "check_ids",
    "check_mentions",
    "check_text",
    "encode_content",
    "encode_extra_content",
    "encode_push_ext",
    "flag_field",
]

Content = Message | Mapping[str, object] | str | bytes

_json = msgspec.json.Encoder()
_decode_json = msgspec.json.decode


def check_text(field: str, value: object) -> str:
    """A text field (pushContent, pushData): a string of valid Unicode."""
    if not isinstance(value, str):
        raise InvalidRequestError(field, f"must be a string, got {type(value).__name__}")
    if not value.isascii():
        _check_utf8(field, value)
    return value


def check_id(field: str, value: object) -> str:
    """A single id: a non-empty string of at most 64 characters."""
    check_text(field, value)
    assert isinstance(value, str)  # check_text raised otherwise
    if not value:
        raise InvalidRequestError(field, "must not be empty")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidRequestError(field, f"at most {MAX_ID_LENGTH} characters, got {len(value)}")
    return value


def flag_field(field: str, value: object) -> str | None:
    """An Int flag of the documents (isPersisted, ...): `True`/`False` or 0/1, sent as 1/0."""
    if value is None:
        return None
    if not isinstance(value, int) or value not in (0, 1):
        raise InvalidRequestError(field, f"must be True, False, 0 or 1, got {value!r}")
    return "1" if value else "0"


def boolean_field(field: str, value: object) -> str | None:
    """A Boolean field of the documents (expansion, disablePush): `True`/`False` only."""
    if value is None:
        return None
    if not isinstance(value, bool):
        raise InvalidRequestError(field, f"must be True or False, got {value!r}")
    return "true" if value else "false"


def _check_utf8(field: str, value: str) -> bytes:
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidRequestError(field, "is not valid Unicode (lone surrogate)") from exc


def check_ids(
    field: str, ids: Iterable[str], *, maximum: int | None = None, why: str | None = None
) -> tuple[str, ...]:
    """A list of at least one distinct non-empty id, at most `maximum` of them (`why`: the
    reason for that maximum, added to the error)."""
    if isinstance(ids, str | bytes) or not isinstance(ids, Iterable):
        raise InvalidRequestError(field, "must be a list of ids")
    values = tuple(check_id(field, value) for value in ids)
    if not values:
        raise InvalidRequestError(field, "needs at least one id")
    if maximum is not None and len(values) > maximum:
        message = f"at most {maximum} per request, got {len(values)}"
        raise InvalidRequestError(field, f"{message}: {why}" if why else message)
    if len(set(values)) != len(values):
        raise InvalidRequestError(field, "contains the same id twice")
    return values


def _check_object_name(object_name: object) -> str:
    check_text("object_name", object_name)
    assert isinstance(object_name, str)  # check_text raised otherwise
    if not object_name:
        raise InvalidRequestError("object_name", "must not be empty")
    if len(object_name) > MAX_OBJECT_NAME:
        raise InvalidRequestError("object_name", f"at most {MAX_OBJECT_NAME} characters")
    if object_name.startswith("RC:") and object_name not in BUILTIN_OBJECT_NAMES:
        raise InvalidRequestError(
            "object_name", f"{object_name!r}: custom message types must not start with 'RC:'"
        )
    return object_name


def encode_content(content: Content, object_name: str | None) -> tuple[str, bytes, object]:
    """(objectName, content bytes, content as JSON or None when it is not JSON): typed
    messages and mappings as JSON, str/bytes as given. Built-in types need a JSON object."""
    if isinstance(content, Message):
        if object_name is not None and object_name != content.object_name:
            raise InvalidRequestError(
                "object_name", f"{object_name!r} does not match {type(content).__name__}"
            )
        object_name = content.object_name
    elif object_name is None:
        raise InvalidRequestError("object_name", "required unless content is a typed message")
    name = _check_object_name(object_name)
    encoded = _content_bytes(content)
    if not encoded:
        raise InvalidRequestError("content", "must not be empty")
    if len(encoded) > MAX_CONTENT_BYTES:
        raise InvalidRequestError(
            "content", f"{len(encoded)} bytes encoded, the limit is {MAX_CONTENT_BYTES} (128 KiB)"
        )
    value = _json_value("content", encoded)
    if name in BUILTIN_OBJECT_NAMES and not isinstance(value, dict):
        raise InvalidRequestError("content", f"{name} content must be a JSON object")
    return name, encoded, value


def _content_bytes(content: object) -> bytes:
    if isinstance(content, str):
        return _check_utf8("content", content)
    if isinstance(content, bytes):
        try:
            content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidRequestError("content", "bytes are not valid UTF-8") from exc
        return content
    if isinstance(content, Message | Mapping):
        return _encode_json("content", content)
    raise InvalidRequestError(
        "content", f"must be a typed message, a mapping, str or bytes, got {type(content).__name__}"
    )


def _json_value(field: str, encoded: bytes) -> object:
    """`encoded` decoded when it is JSON (None otherwise), no deeper than MAX_JSON_DEPTH."""
    try:
        value = _decode_json(encoded)
    except msgspec.DecodeError:
        return None
    except RecursionError as exc:
        raise InvalidRequestError(field, f"JSON nested deeper than {MAX_JSON_DEPTH}") from exc
    if _depth(value) > MAX_JSON_DEPTH:
        raise InvalidRequestError(field, f"JSON nested deeper than {MAX_JSON_DEPTH}")
    return value


def _depth(value: object) -> int:
    """How deep containers nest in a decoded JSON value (iteratively: no recursion limit)."""
    deepest, level = 0, [value]
    while level:
        deepest += 1
        level = [
            child
            for node in level
            if isinstance(node, dict | list)
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
    return deepest


def _encode_json(field: str, value: object) -> bytes:
    try:
        return _json.encode(value)
    except (TypeError, msgspec.EncodeError, UnicodeEncodeError, RecursionError) as exc:
        raise InvalidRequestError(field, f"cannot be encoded as JSON: {exc}") from exc


def check_mentions(
    content: Content, value: object, mentioned: bool | None, to_user_ids: tuple[str, ...] | None
) -> None:
    """An @ message needs mentionedInfo; a directed one may mention only its recipients.
    `value`: the content decoded from JSON (None when it is not JSON)."""
    if isinstance(content, TextMessage):
        _check_text_mentions(content, mentioned, to_user_ids)
    if mentioned:
        _check_mentioned_json(value, to_user_ids)


def _check_text_mentions(
    content: TextMessage, mentioned: bool | None, to_user_ids: tuple[str, ...] | None
) -> None:
    info = content.mentioned_info
    if mentioned and info is None:
        raise InvalidRequestError(
            "content.mentioned_info", "mentioned=True needs TextMessage.mentioned_info"
        )
    if info is None:
        return
    if info.type == 2 and not info.user_ids:
        raise InvalidRequestError("content.mentioned_info.user_ids", "type 2 needs user ids")
    if to_user_ids is not None and info.user_ids:
        strangers = sorted(set(info.user_ids) - set(to_user_ids))
        if strangers:
            raise InvalidRequestError(
                "content.mentioned_info.user_ids", f"{strangers} are not among to_user_ids"
            )


def _check_mentioned_json(value: object, to_user_ids: tuple[str, ...] | None) -> None:
    """mentioned=True with JSON content: a mentionedInfo of type 1 or 2 and its user ids."""
    info = value.get("mentionedInfo") if isinstance(value, dict) else None
    if not isinstance(info, dict):
        raise InvalidRequestError("content", "mentioned=True needs a mentionedInfo object in it")
    users: Any = info.get("userIdList", [])
    if info.get("type") not in (1, 2):
        raise InvalidRequestError("content.mentionedInfo.type", "must be 1 or 2")
    if not isinstance(users, list) or not all(isinstance(user, str) for user in users):
        raise InvalidRequestError("content.mentionedInfo.userIdList", "must list user ids")
    if info["type"] == 2 and not users:
        raise InvalidRequestError("content.mentionedInfo.userIdList", "type 2 needs user ids")
    if to_user_ids is not None and not set(users) <= set(to_user_ids):
        raise InvalidRequestError(
            "content.mentionedInfo.userIdList", "mentioned users must be among to_user_ids"
        )


def encode_extra_content(extra: Mapping[str, str]) -> bytes:
    """extraContent: <= 100 pairs, keys <= 32 of [A-Za-z0-9+=-_], values <= 4096 chars."""
    if not isinstance(extra, Mapping):
        raise InvalidRequestError("extra_content", "must be a mapping of str to str")
    if len(extra) > MAX_EXTRA_PAIRS:
        raise InvalidRequestError(
            "extra_content", f"at most {MAX_EXTRA_PAIRS} pairs, got {len(extra)}"
        )
    for key, value in extra.items():
        if not isinstance(key, str) or not key or len(key) > MAX_EXTRA_KEY:
            raise InvalidRequestError("extra_content", f"key {key!r}: 1 to 32 characters")
        if not EXTRA_KEY_CHARS.issuperset(key):
            raise InvalidRequestError(
                "extra_content", f"key {key!r}: only letters, digits and + = - _"
            )
        if not isinstance(value, str) or len(value) > MAX_EXTRA_VALUE:
            raise InvalidRequestError(
                "extra_content", f"value of {key!r}: a string of at most {MAX_EXTRA_VALUE} chars"
            )
    return _encode_json("extra_content", dict(extra))


def encode_push_ext(push_ext: PushExt) -> bytes:
    """pushExt as its JSON string; the title is at most 50 characters."""
    if not isinstance(push_ext, PushExt):
        raise InvalidRequestError("push_ext", "must be a rongpub.PushExt")
    try:  # a Struct does not check its field types when built; convert does
        msgspec.convert(msgspec.to_builtins(push_ext), PushExt)
    except (msgspec.ValidationError, TypeError, UnicodeEncodeError) as exc:
        raise InvalidRequestError("push_ext", str(exc)) from exc
    if push_ext.title is not None and len(push_ext.title) > MAX_PUSH_TITLE:
        raise InvalidRequestError("push_ext.title", f"at most {MAX_PUSH_TITLE} characters")
    return _encode_json("push_ext", push_ext.to_wire())
