"""Step 1 of the data path for private, system and chatroom-broadcast messages.

The same contract as `rongpub._request`: every form field of the endpoint's document is a
keyword, `None` is not sent, and everything is validated before anything leaves. Private and
system messages are `Template`s over `toUserId` (at most 1,000 / 100 a request); a broadcast
has no targets, so it is one `PreparedRequest` costing one unit of its quota.
Field lists and their sources: docs/reference/private.md, system.md, broadcast.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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
from .._request import PreparedRequest, Template, request_id
from .._validation import (
    Content,
    boolean_field,
    check_id,
    check_text,
    encode_content,
    encode_extra_content,
    encode_push_ext,
    flag_field,
)

__all__ = ["broadcast_request", "private_template", "system_template"]

Pairs = list[tuple[str, str | bytes]]


def _text(field: str, value: object) -> str | None:
    return None if value is None else check_text(field, value)


def _present(pairs: Iterable[tuple[str, str | bytes | None]]) -> Pairs:
    return [(key, value) for key, value in pairs if value is not None]


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


def private_template(
    *,
    from_user_id: str,
    content: Content,
    object_name: str | None = None,
    push_content: str | None = None,
    push_data: str | None = None,
    badge: int | None = None,
    verify_blacklist: bool | None = None,
    persisted: bool | None = None,
    include_sender: bool | None = None,
    content_available: bool | None = None,
    expansion: bool | None = None,
    extra_content: Mapping[str, str] | None = None,
    disable_push: bool | None = None,
    push_ext: PushExt | None = None,
) -> Template:
    """Validate and encode a private message; see `RongCloud.publish_private` for the fields."""
    check_id("from_user_id", from_user_id)
    count = _badge(badge)
    name, body, _ = encode_content(content, object_name)
    tail = _present(
        (
            ("objectName", name),
            ("content", body),
            ("pushContent", _text("push_content", push_content)),
            ("pushData", _text("push_data", push_data)),
            ("count", count),
            ("verifyBlacklist", flag_field("verify_blacklist", verify_blacklist)),
            ("isPersisted", flag_field("persisted", persisted)),
            ("isIncludeSender", flag_field("include_sender", include_sender)),
            ("contentAvailable", flag_field("content_available", content_available)),
            ("expansion", boolean_field("expansion", expansion)),
            ("extraContent", _extra(extra_content, expansion)),
            ("disablePush", boolean_field("disable_push", disable_push)),
            ("pushExt", _push_ext(push_ext)),
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


def system_template(
    *,
    from_user_id: str,
    content: Content,
    object_name: str | None = None,
    push_content: str | None = None,
    push_data: str | None = None,
    persisted: bool | None = None,
    counted: bool | None = None,
    content_available: bool | None = None,
    disable_push: bool | None = None,
    push_ext: PushExt | None = None,
) -> Template:
    """Validate and encode a system message; see `RongCloud.publish_system` for the fields."""
    check_id("from_user_id", from_user_id)
    name, body, _ = encode_content(content, object_name)
    tail = _present(
        (
            ("objectName", name),
            ("content", body),
            ("pushContent", _text("push_content", push_content)),
            ("pushData", _text("push_data", push_data)),
            ("isPersisted", flag_field("persisted", persisted)),
            ("isCounted", flag_field("counted", counted)),
            ("contentAvailable", flag_field("content_available", content_available)),
            ("disablePush", boolean_field("disable_push", disable_push)),
            ("pushExt", _push_ext(push_ext)),
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


def broadcast_request(
    *,
    from_user_id: str,
    content: Content,
    object_name: str | None = None,
    include_sender: bool | None = None,
) -> PreparedRequest:
    """Validate and encode a broadcast to every chatroom of the app; see
    `RongCloud.broadcast_chatroom`. No targets: it costs one unit of the broadcast quota."""
    check_id("from_user_id", from_user_id)
    name, body, _ = encode_content(content, object_name)
    pairs = _present(
        (
            ("fromUserId", from_user_id),
            ("objectName", name),
            ("content", body),
            ("isIncludeSender", flag_field("include_sender", include_sender)),
        )
    )
    return PreparedRequest("broadcast", BROADCAST_PATH, (), encode_form(pairs), request_id())
