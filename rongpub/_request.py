"""Step 1 of the data path: validate a publish call and encode its form body once.

A `Template` holds everything but the targets, validated and form-encoded; `Template.to(ids)`
adds the targets and yields the `PreparedRequest` that is sent (and re-sent on retry) as is.
Fan-out builds one template and many requests from it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypedDict

from ._constants import CHATROOM_PUBLISH_PATH, GROUP_PUBLISH_PATH, MAX_GROUPS
from ._exceptions import InvalidRequestError
from ._form import encode_form
from ._push import PushExt
from ._validation import (
    Content,
    boolean_field,
    check_id,
    check_ids,
    check_mentions,
    check_text,
    encode_content,
    encode_extra_content,
    encode_push_ext,
    flag_field,
)

if TYPE_CHECKING:
    from typing_extensions import Required, Unpack

__all__ = [
    "Api",
    "ChatroomFields",
    "GroupFields",
    "PreparedRequest",
    "Template",
    "chatroom_template",
    "check_fields",
    "group_template",
    "optional_text",
    "present",
]

Api = Literal["group", "chatroom", "private", "system", "broadcast"]
Pairs = list[tuple[str, str | bytes]]


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """One publish request, ready to sign and send; `cost` is its number of targets (1 for a
    request without targets: a broadcast counts per request)."""

    api: Api
    path: str
    targets: tuple[str, ...]
    body: bytes
    request_id: str

    @property
    def cost(self) -> int:
        return len(self.targets) or 1


@dataclass(frozen=True, slots=True)
class Template:
    """A validated message without its targets; `max_targets` is None when unbounded."""

    api: Api
    path: str
    target_field: str
    target_key: str
    max_targets: int | None
    head: bytes
    tail: bytes
    single_reason: str | None = None

    def to(self, targets: Iterable[str]) -> PreparedRequest:
        """The request sending this message to `targets` (validated here)."""
        ids = check_ids(
            self.target_field, targets, maximum=self.max_targets, why=self.single_reason
        )
        middle = encode_form((self.target_key, target) for target in ids)
        body = b"&".join((self.head, middle, self.tail))
        return PreparedRequest(self.api, self.path, ids, body, request_id())


# Hex digit of a random nibble -> the UUID variant nibble (10xx) keeping its two low bits.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def request_id() -> str:
    """A random (version 4) UUID as text, the X-Request-ID of one request.

    The same text as `str(uuid.uuid4())` (122 random bits), built from the hex of 16 random
    bytes in a fifth of the instructions: this runs once per send.
    """
    digits = os.urandom(16).hex()
    variant = _VARIANT[digits[16]]
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"


def optional_text(field: str, value: object) -> str | None:
    return None if value is None else check_text(field, value)


def check_fields(kind: str, fields: Mapping[str, object], declared: type) -> None:
    """Refuse a keyword that is not a field of `declared` (a TypedDict), as a signature would,
    and a missing required one."""
    unknown = fields.keys() - declared.__annotations__.keys()
    if unknown:
        raise TypeError(f"a {kind} message has no field {sorted(unknown)[0]!r}")
    for name in ("from_user_id", "content"):
        if name not in fields:
            raise TypeError(f"a {kind} message needs {name}=")


def present(pairs: Iterable[tuple[str, str | bytes | None]]) -> Pairs:
    return [(key, value) for key, value in pairs if value is not None]


class GroupFields(TypedDict, total=False):
    """The fields of a group message (`GroupMessage`, `publish_group`, `fanout_group`).

    `from_user_id` and `content` are required. `content`: a typed message (its objectName is
    implied), a dict (sent as JSON) or str/bytes (sent as is; then `object_name` is required).
    `to_user_ids` makes it a directed message to those members of exactly one group.
    `expansion`, `extra_content` (needs expansion), `disable_push` and `push_ext` need exactly
    one group and no `to_user_ids`. Fields left `None` are not sent (the server's defaults).
    """

    from_user_id: Required[str]
    content: Required[Content]
    object_name: str | None
    to_user_ids: Iterable[str] | None
    push_content: str | None
    push_data: str | None
    include_sender: bool | None
    persisted: bool | None
    mentioned: bool | None
    content_available: bool | None
    expansion: bool | None
    extra_content: Mapping[str, str] | None
    disable_push: bool | None
    push_ext: PushExt | None


class ChatroomFields(TypedDict, total=False):
    """The fields of a chatroom message (`ChatroomMessage`, `publish_chatroom`, ...).

    `from_user_id` and `content` are required, `content` as for `GroupFields`.
    `priority`: 0 default, 1 whitelist, 2 high, 3 low. Fields left `None` are not sent.
    """

    from_user_id: Required[str]
    content: Required[Content]
    object_name: str | None
    persisted: bool | None
    include_sender: bool | None
    priority: int | None


def group_template(**fields: Unpack[GroupFields]) -> Template:
    """Validate and encode a group message (the fields: `GroupFields`)."""
    check_fields("group", fields, GroupFields)
    from_user_id, content = fields["from_user_id"], fields["content"]
    to_user_ids, mentioned = fields.get("to_user_ids"), fields.get("mentioned")
    expansion, extra_content = fields.get("expansion"), fields.get("extra_content")
    disable_push, push_ext = fields.get("disable_push"), fields.get("push_ext")
    check_id("from_user_id", from_user_id)
    users = None if to_user_ids is None else check_ids("to_user_ids", to_user_ids)
    flags = {
        name: flag_field(name, fields.get(name))
        for name in ("include_sender", "persisted", "mentioned", "content_available")
    }
    booleans = {
        "expansion": boolean_field("expansion", expansion),
        "disable_push": boolean_field("disable_push", disable_push),
    }
    # Fields that take effect with one undirected group only: False is the default, so it is
    # no request for an effect (the Go SDK always sends it); True or a value is one.
    single_only = [
        name
        for name, value in (
            ("expansion", expansion),
            ("extra_content", extra_content),
            ("disable_push", disable_push),
            ("push_ext", push_ext),
        )
        if value is not None and value is not False
    ]
    if users is not None and single_only:
        raise InvalidRequestError(single_only[0], "is not supported with to_user_ids")
    if extra_content is not None and expansion is not True:
        raise InvalidRequestError("extra_content", "needs expansion=True")
    name, body, value = encode_content(content, fields.get("object_name"))
    check_mentions(content, value, bool(mentioned), users)
    head = [("fromUserId", from_user_id)]
    extra = None if extra_content is None else encode_extra_content(extra_content)
    tail = present(
        (
            ("objectName", name),
            ("content", body),
            ("pushContent", optional_text("push_content", fields.get("push_content"))),
            ("pushData", optional_text("push_data", fields.get("push_data"))),
            ("isIncludeSender", flags["include_sender"]),
            ("isPersisted", flags["persisted"]),
            ("isMentioned", flags["mentioned"]),
            ("contentAvailable", flags["content_available"]),
            ("expansion", booleans["expansion"]),
            ("extraContent", extra),
            ("disablePush", booleans["disable_push"]),
            ("pushExt", None if push_ext is None else encode_push_ext(push_ext)),
        )
    )
    directed = [("toUserId", user) for user in users or ()]
    reasons = (["to_user_ids"] if users is not None else []) + single_only
    reason = f"{', '.join(reasons)} allow exactly one group" if reasons else None
    return Template(
        api="group",
        path=GROUP_PUBLISH_PATH,
        target_field="group_ids",
        target_key="toGroupId",
        max_targets=1 if reason else MAX_GROUPS,
        head=encode_form(head),
        tail=encode_form(directed + tail),
        single_reason=reason,
    )


def chatroom_template(**fields: Unpack[ChatroomFields]) -> Template:
    """Validate and encode a chatroom message (the fields: `ChatroomFields`)."""
    check_fields("chatroom", fields, ChatroomFields)
    from_user_id, priority = fields["from_user_id"], fields.get("priority")
    check_id("from_user_id", from_user_id)
    if priority is not None and (
        isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 3
    ):
        raise InvalidRequestError("priority", f"must be 0, 1, 2 or 3, got {priority!r}")
    name, body, _ = encode_content(fields["content"], fields.get("object_name"))
    tail = present(
        (
            ("objectName", name),
            ("content", body),
            ("isPersisted", flag_field("persisted", fields.get("persisted"))),
            ("isIncludeSender", flag_field("include_sender", fields.get("include_sender"))),
            ("priority", None if priority is None else str(priority)),
        )
    )
    return Template(
        api="chatroom",
        path=CHATROOM_PUBLISH_PATH,
        target_field="chatroom_ids",
        target_key="toChatroomId",
        max_targets=None,
        head=encode_form([("fromUserId", from_user_id)]),
        tail=encode_form(tail),
    )
