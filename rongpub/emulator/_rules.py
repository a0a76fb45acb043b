"""The parameter rules of the two publish documents, applied to a decoded form.

The group and chatroom publish documents (docs.rongcloud.cn, message/send-group and
send-chatroom) are the contract; each rule below cites the field it comes from. Fields the
documents do not list are kept in the record but not judged, as the real server ignores them.
The limits come from `rongpub._constants` (one source); the checks are the emulator's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._constants import MAX_GROUPS, MAX_ID_LENGTH
from ._form import Form, param_error, too_long
from ._json_rules import (
    check_content,
    check_extra_content,
    check_mention,
    check_object_name,
    check_push_ext,
)

__all__ = ["Publish", "check_chatroom", "check_group", "common_fields", "other_fields"]

_FLAG = range(2)
_PRIORITY = range(4)
_CORE_FIELDS = ("fromUserId", "objectName", "content")
# Group fields that take effect only with exactly one group and no toUserId; otherwise the
# document says they are ignored ("仅当 toGroupId 传入单个群组 ID 时有效"), not refused.
_SINGLE_GROUP_ONLY = ("expansion", "extraContent", "disablePush", "pushExt")


@dataclass(frozen=True, kw_only=True)
class Publish:
    """A valid publish request: its targets (none for a broadcast) and every field as sent."""

    api: str
    targets: tuple[str, ...]
    from_user_id: str
    object_name: str
    content: str
    to_user_ids: tuple[str, ...]
    fields: dict[str, str]


def common_fields(form: Form) -> tuple[str, str, str]:
    """fromUserId, objectName and content, all required."""
    from_user_id, object_name, content = (form.required(name) for name in _CORE_FIELDS)
    if len(from_user_id) > MAX_ID_LENGTH:
        raise too_long("fromUserId", MAX_ID_LENGTH)
    check_object_name(object_name, form.judge)
    return from_user_id, object_name, content


def other_fields(form: Form, *skip: str) -> dict[str, str]:
    """The single-valued fields besides the ids and the core three, for the record (a repeated
    one is relaxed and its first value kept)."""
    ignored = {*_CORE_FIELDS, *skip}
    return {name: form.one(name) or "" for name in form.values if name not in ignored}


def check_group(form: Form) -> Publish:
    """Validate a `/message/group/publish.json` form."""
    from_user_id, object_name, content = common_fields(form)
    groups = form.many("toGroupId", max_length=MAX_ID_LENGTH)
    if not groups:
        raise param_error("toGroupId", "is required")
    if len(groups) > MAX_GROUPS:
        raise param_error("toGroupId", f"at most {MAX_GROUPS} groups per request")
    to_users = form.many("toUserId", max_length=MAX_ID_LENGTH)
    if to_users and len(groups) > 1:
        raise param_error("toUserId", "only allowed with a single toGroupId")
    for name in ("isIncludeSender", "isPersisted", "contentAvailable"):
        form.int_in(name, _FLAG)
    content_object = check_content(content, object_name)
    if form.int_in("isMentioned", _FLAG) == 1:
        check_mention(content_object, form.one("mentionedInfo"), to_users)
    _check_single_group_fields(form, single=len(groups) == 1 and not to_users)
    return Publish(
        api="group",
        targets=tuple(groups),
        from_user_id=from_user_id,
        object_name=object_name,
        content=content,
        to_user_ids=tuple(to_users),
        fields=other_fields(form, "toGroupId", "toUserId"),
    )


def _check_single_group_fields(form: Form, *, single: bool) -> None:
    """expansion, extraContent, disablePush and pushExt: checked with one undirected group,
    ignored (and noted) otherwise; extraContent likewise needs expansion=true."""
    if not single:
        for name in _SINGLE_GROUP_ONLY:
            if form.values.get(name, ["false"]) != ["false"]:  # the Go SDK always sends false
                form.judge.note("ignored-field", name, "takes effect with one toGroupId only")
        return
    expansion = form.boolean("expansion")
    form.boolean("disablePush")
    extra = form.one("extraContent")
    if extra is not None and not expansion:
        form.judge.note("ignored-field", "extraContent", "takes effect with expansion=true only")
    elif extra is not None:
        check_extra_content(extra, form.judge)
    push_ext = form.one("pushExt")
    if push_ext is not None:
        check_push_ext(push_ext, form.judge)


def check_chatroom(form: Form) -> Publish:
    """Validate a `/message/chatroom/publish.json` form."""
    from_user_id, object_name, content = common_fields(form)
    rooms = form.many("toChatroomId", max_length=MAX_ID_LENGTH)
    if not rooms:
        raise param_error("toChatroomId", "is required")
    for name in ("isPersisted", "isIncludeSender"):
        form.int_in(name, _FLAG)
    form.int_in("priority", _PRIORITY)
    check_content(content, object_name)
    return Publish(
        api="chatroom",
        targets=tuple(rooms),
        from_user_id=from_user_id,
        object_name=object_name,
        content=content,
        to_user_ids=(),
        fields=other_fields(form, "toChatroomId"),
    )
