"""The parameter rules of the two publish documents, checked before anything is sent.

Each check raises `InvalidRequestError` naming the field by its Python name; each returns
the value in its wire form, so validating and encoding happen in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

from ._constants import (
    BUILTIN_OBJECT_NAMES,
    EXTRA_KEY_CHARS,
    MAX_CONTENT_BYTES,
    MAX_EXTRA_KEY,
    MAX_EXTRA_PAIRS,
    MAX_EXTRA_VALUE,
    MAX_OBJECT_NAME,
    MAX_PUSH_TITLE,
)
from ._exceptions import InvalidRequestError
from ._messages import Message, TextMessage
from ._push import PushExt

__all__ = [
    "check_id",
    "check_ids",
    "check_mentions",
    "encode_content",
    "encode_extra_content",
    "encode_push_ext",
]

Content = Message | Mapping[str, object] | str | bytes

_json = msgspec.json.Encoder()


def check_id(field: str, value: object) -> str:
    """A single id: a non-empty string."""
    if not isinstance(value, str):
        raise InvalidRequestError(field, f"must be a string, got {type(value).__name__}")
    if not value:
        raise InvalidRequestError(field, "must not be empty")
    if not value.isascii():
        _check_utf8(field, value)
    return value


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
    if isinstance(ids, str | bytes):
        raise InvalidRequestError(field, "must be a list of ids, not a single string")
    values = tuple(check_id(field, value) for value in ids)
    if not values:
        raise InvalidRequestError(field, "needs at least one id")
    if maximum is not None and len(values) > maximum:
        message = f"at most {maximum} per request, got {len(values)}"
        raise InvalidRequestError(field, f"{message}: {why}" if why else message)
    if len(set(values)) != len(values):
        raise InvalidRequestError(field, "contains the same id twice")
    return values


def _check_object_name(object_name: str) -> str:
    if not object_name:
        raise InvalidRequestError("object_name", "must not be empty")
    if len(object_name) > MAX_OBJECT_NAME:
        raise InvalidRequestError("object_name", f"at most {MAX_OBJECT_NAME} characters")
    if object_name.startswith("RC:") and object_name not in BUILTIN_OBJECT_NAMES:
        raise InvalidRequestError(
            "object_name", f"{object_name!r}: custom message types must not start with 'RC:'"
        )
    return object_name


def encode_content(content: Content, object_name: str | None) -> tuple[str, bytes]:
    """(objectName, content bytes): typed messages and dicts as JSON, str/bytes as given."""
    if isinstance(content, Message):
        if object_name is not None and object_name != content.object_name:
            raise InvalidRequestError(
                "object_name", f"{object_name!r} does not match {type(content).__name__}"
            )
        object_name, encoded = content.object_name, _json.encode(content)
    elif object_name is None:
        raise InvalidRequestError("object_name", "required unless content is a typed message")
    elif isinstance(content, str):
        encoded = _check_utf8("content", content)
    elif isinstance(content, bytes):
        encoded = content
    else:
        encoded = _encode_json("content", content)
    if len(encoded) > MAX_CONTENT_BYTES:
        raise InvalidRequestError(
            "content", f"{len(encoded)} bytes encoded, the limit is {MAX_CONTENT_BYTES} (128 KiB)"
        )
    return _check_object_name(object_name), encoded


def _encode_json(field: str, value: object) -> bytes:
    try:
        return _json.encode(value)
    except (TypeError, msgspec.EncodeError) as exc:
        raise InvalidRequestError(field, f"cannot be encoded as JSON: {exc}") from exc


def check_mentions(
    content: Content, mentioned: bool | None, to_user_ids: tuple[str, ...] | None
) -> None:
    """An @ message needs mentionedInfo; a directed one may mention only its recipients."""
    if not isinstance(content, TextMessage):
        return
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
    if push_ext.title is not None and len(push_ext.title) > MAX_PUSH_TITLE:
        raise InvalidRequestError("push_ext.title", f"at most {MAX_PUSH_TITLE} characters")
    return _encode_json("push_ext", push_ext.to_wire())
