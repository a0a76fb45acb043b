"""Rules for the fields that carry JSON: content, mentionedInfo, extraContent and pushExt."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import msgspec

from .._constants import (
    BUILTIN_OBJECT_NAMES,
    MAX_CONTENT_BYTES,
    MAX_EXTRA_KEY,
    MAX_EXTRA_PAIRS,
    MAX_EXTRA_VALUE,
    MAX_OBJECT_NAME,
    MAX_PUSH_TITLE,
)
from ._form import param_error, too_long
from ._leniency import Judge

__all__ = [
    "BUILTIN_TYPES",
    "check_content",
    "check_extra_content",
    "check_mention",
    "check_object_name",
    "check_push_ext",
]

#: Built-in message types: the one list the client reads too (rongpub._constants); the check
#: below is the emulator's own. Any other name starting with "RC:" is reserved for RongCloud.
BUILTIN_TYPES = BUILTIN_OBJECT_NAMES
_EXTRA_KEY = re.compile(r"[A-Za-z0-9+=\-_]+")
_PUSH_VENDORS = frozenset({"MI", "HONOR", "HW", "OPPO", "VIVO", "APNs", "FCM", "OHOS"})
_MENTION_EVERYONE, _MENTION_LISTED = 1, 2


def _decode(field: str, text: str) -> Any:
    """`text` decoded as JSON, or 1002 naming `field` (also for nesting too deep to decode:
    msgspec raises RecursionError there, which must not escape and end the server)."""
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise param_error(field, "is not valid JSON") from exc
    except RecursionError as exc:
        raise param_error(field, "JSON nested too deeply") from exc


def _json_object(field: str, text: str) -> dict[str, Any]:
    """`text` decoded as a JSON object, or 1002 naming `field`."""
    value = _decode(field, text)
    if not isinstance(value, dict):
        raise param_error(field, "must be a JSON object")
    return value


def check_object_name(name: str, judge: Judge) -> None:
    """At most 32 characters; an unknown name starting with "RC:" is relaxed (RongCloud adds
    types; nothing says the server refuses one), strict mode refuses it."""
    if len(name) > MAX_OBJECT_NAME:
        raise too_long("objectName", MAX_OBJECT_NAME)
    if name.startswith("RC:") and name not in BUILTIN_TYPES:
        error = param_error("objectName", f'{name!r}: custom types must not start with "RC:"')
        judge.relax("unknown-builtin-type", "objectName", error)


def check_content(content: str, object_name: str) -> dict[str, Any] | None:
    """At most 128 KiB of UTF-8; a JSON object for built-in types. Returns it when it is one."""
    if len(content.encode()) > MAX_CONTENT_BYTES:
        raise too_long("content", MAX_CONTENT_BYTES, "bytes")
    if object_name in BUILTIN_TYPES:
        return _json_object("content", content)
    try:  # custom types may carry any format; a JSON object may still hold mentionedInfo
        value = msgspec.json.decode(content)
    except msgspec.DecodeError:
        return None
    except RecursionError as exc:
        raise param_error("content", "JSON nested too deeply") from exc
    return value if isinstance(value, dict) else None


def check_mention(
    content: dict[str, Any] | None, form_field: str | None, to_user_ids: Sequence[str]
) -> None:
    """isMentioned=1: a valid mentionedInfo in content (or, as one document example has it,
    in a form field of that name); with toUserId every mentioned user must be among them."""
    if content is not None and "mentionedInfo" in content:
        info = content["mentionedInfo"]
    elif form_field is not None:
        info = _json_object("mentionedInfo", form_field)
    else:
        raise param_error("isMentioned", "is 1 but content carries no mentionedInfo")
    if not isinstance(info, dict) or info.get("type") not in (_MENTION_EVERYONE, _MENTION_LISTED):
        raise param_error("mentionedInfo", "type must be 1 (everyone) or 2 (listed users)")
    users = info.get("userIdList", [])
    if not isinstance(users, list) or not all(isinstance(user, str) for user in users):
        raise param_error("mentionedInfo", "userIdList must be a list of user ids")
    if info["type"] == _MENTION_LISTED and not users:
        raise param_error("mentionedInfo", "type 2 needs a non-empty userIdList")
    if to_user_ids and not set(users) <= set(to_user_ids):
        raise param_error("mentionedInfo", "mentioned users must be among toUserId")


def check_extra_content(text: str, judge: Judge) -> None:
    """A JSON object of at most 100 pairs; keys of [A-Za-z0-9+=-_] up to 32 characters,
    string values up to 4096 characters."""
    pairs = _json_object("extraContent", text)
    if len(pairs) > MAX_EXTRA_PAIRS:
        raise param_error("extraContent", f"more than {MAX_EXTRA_PAIRS} key-value pairs")
    for key, value in pairs.items():
        if len(key) > MAX_EXTRA_KEY:
            raise too_long("extraContent key", MAX_EXTRA_KEY)
        if not _EXTRA_KEY.fullmatch(key):
            raise param_error("extraContent", f"key {key!r} may hold only A-Z a-z 0-9 + = - _")
        if not isinstance(value, str):  # the document's example has strings; none says must
            error = param_error("extraContent", f"value of {key!r} must be a string")
            judge.relax("non-string-extra-value", "extraContent", error)
        elif len(value) > MAX_EXTRA_VALUE:
            raise too_long("extraContent value", MAX_EXTRA_VALUE)


def check_push_ext(text: str, judge: Judge) -> None:
    """A JSON object: title up to 50 characters, templateId a string, forceShowPushContent
    0 or 1, pushConfigs a list of objects keyed by the documented push channels."""
    ext = _json_object("pushExt", text)
    title = ext.get("title")
    if title is not None and not isinstance(title, str):
        raise param_error("pushExt.title", "must be a string")
    if title is not None and len(title) > MAX_PUSH_TITLE:
        raise too_long("pushExt.title", MAX_PUSH_TITLE)
    if "templateId" in ext and not isinstance(ext["templateId"], str):
        raise param_error("pushExt.templateId", "must be a string")
    if ext.get("forceShowPushContent", 0) not in (0, 1):
        raise param_error("pushExt.forceShowPushContent", "must be 0 or 1")
    _check_push_configs(ext.get("pushConfigs", []), judge)


def _check_push_configs(configs: object, judge: Judge) -> None:
    if not isinstance(configs, list):
        raise param_error("pushExt.pushConfigs", "must be a list")
    for config in configs:
        if not isinstance(config, dict):
            raise param_error("pushExt.pushConfigs", f"entries are objects keyed by {_vendors()}")
        unknown = sorted(set(config) - _PUSH_VENDORS)
        if unknown:  # vendors come and go; the document does not say others are refused
            error = param_error("pushExt.pushConfigs", f"unknown channel {unknown[0]!r}")
            judge.relax("unknown-push-channel", "pushExt.pushConfigs", error)
        if not all(isinstance(options, dict) for options in config.values()):
            raise param_error("pushExt.pushConfigs", "each channel's options must be an object")


def _vendors() -> str:
    return ", ".join(sorted(_PUSH_VENDORS))
