"""Step 1 of the data path for private, system and chatroom-broadcast messages.

The same contract as `rongpub._request`: the fields are declared once, in `PrivateFields`,
`SystemFields` and `BroadcastFields`; `None` is not sent, and everything is validated before
anything leaves. Private and system messages are `Template`s over `toUserId` (at most 1,000 /
100 a request); a broadcast has no targets, so it is one `PreparedRequest` costing one unit of
its quota. Field lists and their sources: docs/reference/private.md, system.md, broadcast.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TypedDict

from .._constants import (
    BROADCAST_PATH,
    MAX_BADGE,
    MAX_PRIVATE_USERS,
    MAX_SYSTEM_USERS,
    PRIVATE_PUBLISH_PATH,
    SYSTEM_PUBLISH_PATH,
)
from .._exceptions import InvalidRequestError
from .._form import encode_form
from .._push import PushExt
from .._request import (
    PreparedRequest,
    Template,
    check_fields,
    optional_text,
    present,
    request_id,
)
from .._validation import (
    Content,
    boolean_field,
    check_id,
    encode_content,
    encode_extra_content,
    encode_push_ext,
    flag_field,
)

if TYPE_CHECKING:
    from typing_extensions import Required, Unpack

__all__ = [
    "BroadcastFields",
    "PrivateFields",
    "SystemFields",
    "broadcast_request",
    "private_template",
    "system_template",
]


class PrivateFields(TypedDict, total=False):
    """The fields of a private message (`PrivateMessage`, `publish_private`, ...).

    `from_user_id` and `content` are required, `content` as for `GroupFields`. `badge` (form
    field `count`): the iOS badge, -1 to leave it, 0-9999 to set it; exactly one user.
    `verify_blacklist`: skip users who blacklisted the sender. `extra_content` needs
    `expansion=True`. Fields left `None` are not sent.
    """

    from_user_id: Required[str]
    content: Required[Content]
    object_name: str | None
    push_content: str | None
    push_data: str | None
    badge: int | None
    verify_blacklist: bool | None
    persisted: bool | None
    include_sender: bool | None
    content_available: bool | None
    expansion: bool | None
    extra_content: Mapping[str, str] | None
    disable_push: bool | None
    push_ext: PushExt | None


class SystemFields(TypedDict, total=False):
    """The fields of a system message (`SystemMessage`, `publish_system`, ...): users see it
    in a SYSTEM conversation with `from_user_id` and cannot reply. `counted`: count it as
    unread (`isCounted`). Other fields as `PrivateFields`."""

    from_user_id: Required[str]
    content: Required[Content]
    object_name: str | None
    push_content: str | None
    push_data: str | None
    persisted: bool | None
    counted: bool | None
    content_available: bool | None
    disable_push: bool | None
    push_ext: PushExt | None


class BroadcastFields(TypedDict, total=False):
    """The fields of a broadcast to every chatroom of the app (`broadcast_chatroom`)."""

    from_user_id: Required[str]
    content: Required[Content]
    object_name: str | None
    include_sender: bool | None


def _badge(value: object) -> str | None:
    """`count` (iOS badge): -1 keeps the badge as it is, 0..9999 sets it."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not -1 <= value <= MAX_BADGE:
        raise InvalidRequestError("badge", f"must be an int from -1 to {MAX_BADGE}, got {value!r}")
    return str(value)


def _extra(extra_content: Mapping[str, str] | None, expansion: bool | None) -> bytes | None:
    if extra_content is None:
        return None
    if expansion is not True:
        raise InvalidRequestError("extra_content", "needs expansion=True")
    return encode_extra_content(extra_content)


def _push_ext(push_ext: PushExt | None) -> bytes | None:
    return None if push_ext is None else encode_push_ext(push_ext)


def private_template(**fields: Unpack[PrivateFields]) -> Template:
    """Validate and encode a private message (the fields: `PrivateFields`)."""
    check_fields("private", fields, PrivateFields)
    from_user_id = fields["from_user_id"]
    check_id("from_user_id", from_user_id)
    count = _badge(fields.get("badge"))
    name, body, _ = encode_content(fields["content"], fields.get("object_name"))
    tail = present(
        (
            ("objectName", name),
            ("content", body),
            ("pushContent", optional_text("push_content", fields.get("push_content"))),
            ("pushData", optional_text("push_data", fields.get("push_data"))),
            ("count", count),
            ("verifyBlacklist", flag_field("verify_blacklist", fields.get("verify_blacklist"))),
            ("isPersisted", flag_field("persisted", fields.get("persisted"))),
            ("isIncludeSender", flag_field("include_sender", fields.get("include_sender"))),
            ("contentAvailable", flag_field("content_available", fields.get("content_available"))),
            ("expansion", boolean_field("expansion", fields.get("expansion"))),
            ("extraContent", _extra(fields.get("extra_content"), fields.get("expansion"))),
            ("disablePush", boolean_field("disable_push", fields.get("disable_push"))),
            ("pushExt", _push_ext(fields.get("push_ext"))),
        )
    )
    # The document: count "only takes effect when toUserId is one user id".
    reason = "badge allows exactly one user" if count is not None else None
    return Template(
        api="private",
        path=PRIVATE_PUBLISH_PATH,
        target_field="to_user_ids",
        target_key="toUserId",
        max_targets=1 if reason else MAX_PRIVATE_USERS,
        head=encode_form([("fromUserId", from_user_id)]),
        tail=encode_form(tail),
        single_reason=reason,
    )


def system_template(**fields: Unpack[SystemFields]) -> Template:
    """Validate and encode a system message (the fields: `SystemFields`)."""
    check_fields("system", fields, SystemFields)
    from_user_id = fields["from_user_id"]
    check_id("from_user_id", from_user_id)
    name, body, _ = encode_content(fields["content"], fields.get("object_name"))
    tail = present(
        (
            ("objectName", name),
            ("content", body),
            ("pushContent", optional_text("push_content", fields.get("push_content"))),
            ("pushData", optional_text("push_data", fields.get("push_data"))),
            ("isPersisted", flag_field("persisted", fields.get("persisted"))),
            ("isCounted", flag_field("counted", fields.get("counted"))),
            ("contentAvailable", flag_field("content_available", fields.get("content_available"))),
            ("disablePush", boolean_field("disable_push", fields.get("disable_push"))),
            ("pushExt", _push_ext(fields.get("push_ext"))),
        )
    )
    return Template(
        api="system",
        path=SYSTEM_PUBLISH_PATH,
        target_field="to_user_ids",
        target_key="toUserId",
        max_targets=MAX_SYSTEM_USERS,
        head=encode_form([("fromUserId", from_user_id)]),
        tail=encode_form(tail),
    )


def broadcast_request(**fields: Unpack[BroadcastFields]) -> PreparedRequest:
    """Validate and encode a broadcast to every chatroom of the app; see
    `RongCloud.broadcast_chatroom`. No targets: it costs one unit of the broadcast quota."""
    check_fields("broadcast", fields, BroadcastFields)
    from_user_id = fields["from_user_id"]
    check_id("from_user_id", from_user_id)
    name, body, _ = encode_content(fields["content"], fields.get("object_name"))
    pairs = present(
        (
            ("fromUserId", from_user_id),
            ("objectName", name),
            ("content", body),
            ("isIncludeSender", flag_field("include_sender", fields.get("include_sender"))),
        )
    )
    return PreparedRequest("broadcast", BROADCAST_PATH, (), encode_form(pairs), request_id())
