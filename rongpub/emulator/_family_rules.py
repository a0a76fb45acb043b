"""The parameter rules of the private, system and chatroom-broadcast documents.

Sources (docs.rongcloud.cn / .io, platform-chat-api): message/send-private,
system/send-private, message/send-chatroom-broadcast; field lists and what each leaves unclear
in docs/reference/private.md, system.md and broadcast.md. As in `_rules`, fields a document
does not list are kept in the record but not judged.
"""

from __future__ import annotations

from .._constants import MAX_BADGE, MAX_ID_LENGTH, MAX_PRIVATE_USERS, MAX_SYSTEM_USERS
from ._form import Form, param_error
from ._json_rules import check_content, check_extra_content, check_push_ext
from ._rules import Publish, common_fields, other_fields

__all__ = ["check_broadcast", "check_private", "check_system"]

_FLAG = range(2)
_BADGE = range(-1, MAX_BADGE + 1)


def _users(form: Form, maximum: int) -> list[str]:
    users = form.many("toUserId", max_length=MAX_ID_LENGTH)
    if not users:
        raise param_error("toUserId", "is required")
    if len(users) > maximum:
        raise param_error("toUserId", f"at most {maximum} users per request")
    return users


def _push_fields(form: Form) -> None:
    """disablePush (Boolean) and pushExt (JSON), as in the group document."""
    form.boolean("disablePush")
    push_ext = form.one("pushExt")
    if push_ext is not None:
        check_push_ext(push_ext, form.judge)


def _publish(api: str, form: Form, core: tuple[str, str, str], targets: list[str]) -> Publish:
    from_user_id, object_name, content = core
    return Publish(
        api=api,
        targets=tuple(targets),
        from_user_id=from_user_id,
        object_name=object_name,
        content=content,
        to_user_ids=(),
        fields=other_fields(form, "toUserId"),
    )


def check_private(form: Form) -> Publish:
    """Validate a `/message/private/publish.json` form (1-1,000 toUserId)."""
    core = common_fields(form)
    users = _users(form, MAX_PRIVATE_USERS)
    for name in ("isIncludeSender", "verifyBlacklist", "isPersisted", "contentAvailable"):
        form.int_in(name, _FLAG)
    if form.int_in("count", _BADGE) is not None and len(users) > 1:
        form.judge.note("ignored-field", "count", "takes effect with one toUserId only")
    check_content(core[2], core[1])
    expansion = form.boolean("expansion")
    extra = form.one("extraContent")
    if extra is not None and not expansion:
        form.judge.note("ignored-field", "extraContent", "takes effect with expansion=true only")
    elif extra is not None:
        check_extra_content(extra, form.judge)
    _push_fields(form)
    return _publish("private", form, core, users)


def check_system(form: Form) -> Publish:
    """Validate a `/message/system/publish.json` form (1-100 toUserId)."""
    core = common_fields(form)
    users = _users(form, MAX_SYSTEM_USERS)
    for name in ("isPersisted", "isCounted", "contentAvailable"):
        form.int_in(name, _FLAG)
    check_content(core[2], core[1])
    _push_fields(form)
    return _publish("system", form, core, users)


def check_broadcast(form: Form) -> Publish:
    """Validate a `/message/chatroom/broadcast.json` form (no target: every chatroom)."""
    core = common_fields(form)
    form.int_in("isIncludeSender", _FLAG)
    check_content(core[2], core[1])
    if "toChatroomId" in form.values:
        form.judge.note("ignored-field", "toChatroomId", "a broadcast reaches every chatroom")
    return _publish("broadcast", form, core, [])
