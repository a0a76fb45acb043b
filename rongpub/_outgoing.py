"""Messages as values: `GroupMessage`, `ChatroomMessage`, `PrivateMessage` and `SystemMessage`,
validated once at construction.

The fields are declared once, in `GroupFields` / `ChatroomFields` (`_request`) and
`PrivateFields` / `SystemFields` (`_family.request`): the value's
constructor and the `publish_group`-style keyword wrappers take them as `**fields`. Unlike
the typed *content* classes (`TextMessage`, ... in `_messages`), these are whole outgoing
messages: sender, content and send options, without the targets (`rc.publish(message, to=...)`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from ._family.request import PrivateFields, SystemFields, private_template, system_template
from ._fanout.options import (
    FANOUT_CHATROOM_PACK,
    FANOUT_GROUP_PACK,
    FANOUT_PRIVATE_PACK,
    FANOUT_SYSTEM_PACK,
    FanoutKwargs,
)
from ._request import ChatroomFields, GroupFields, Template, chatroom_template, group_template

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

__all__ = [
    "ChatroomFanoutKwargs",
    "ChatroomMessage",
    "GroupFanoutKwargs",
    "GroupMessage",
    "OutgoingMessage",
    "PrivateFanoutKwargs",
    "PrivateMessage",
    "SystemFanoutKwargs",
    "SystemMessage",
    "split_fanout_kwargs",
]

F = TypeVar("F", GroupFields, ChatroomFields, PrivateFields, SystemFields)


class OutgoingMessage(Generic[F]):
    """Base of the message values: frozen, compared and hashed by what would be sent.

    `fields` gives the fields as passed (a copy); `template` the validated, encoded form.
    """

    __slots__ = ("_fields", "_template")
    _build: ClassVar[Callable[..., Template]]
    #: Targets per request a fan-out packs by default.
    default_pack: ClassVar[int]

    _fields: Mapping[str, Any]
    _template: Template

    def __init__(self, fields: F) -> None:
        object.__setattr__(self, "_template", type(self)._build(**fields))
        object.__setattr__(self, "_fields", dict(fields))

    @property
    def fields(self) -> F:
        """The fields this message was made with (a copy; changing it changes nothing)."""
        return dict(self._fields)  # type: ignore[return-value]

    @property
    def template(self) -> Template:
        """The validated, form-encoded message without targets (what `publish` sends)."""
        return self._template

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed (validated anew); `None` unsets a field."""
        return type(self)(**{**self._fields, **changes})

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: use .replace({name}=...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, OutgoingMessage)
        mine, theirs = self._template, other._template
        return (mine.head, mine.tail) == (theirs.head, theirs.tail)

    def __hash__(self) -> int:
        return hash((type(self), self._template.head, self._template.tail))

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self._fields.items() if v is not None)
        return f"{type(self).__name__}({shown})"


class GroupMessage(OutgoingMessage[GroupFields]):
    """A message for 1-3 groups (`/message/group/publish.json`); fields: `GroupFields`.

    `GroupMessage(from_user_id="bot", content=TextMessage(content="hi"))` raises
    `InvalidRequestError` naming the field at once if a rule of the API documents is broken.
    """

    __slots__ = ()
    _build = staticmethod(group_template)
    default_pack = FANOUT_GROUP_PACK

    def __init__(self, **fields: Unpack[GroupFields]) -> None:
        super().__init__(fields)


class ChatroomMessage(OutgoingMessage[ChatroomFields]):
    """A message for chatrooms (`/message/chatroom/publish.json`); fields: `ChatroomFields`."""

    __slots__ = ()
    _build = staticmethod(chatroom_template)
    default_pack = FANOUT_CHATROOM_PACK

    def __init__(self, **fields: Unpack[ChatroomFields]) -> None:
        super().__init__(fields)


class PrivateMessage(OutgoingMessage[PrivateFields]):
    """A private message for 1-1,000 users (`/message/private/publish.json`; 6,000 users a
    minute); fields: `PrivateFields`. With `badge`, exactly one user a request."""

    __slots__ = ()
    _build = staticmethod(private_template)
    default_pack = FANOUT_PRIVATE_PACK

    def __init__(self, **fields: Unpack[PrivateFields]) -> None:
        super().__init__(fields)


class SystemMessage(OutgoingMessage[SystemFields]):
    """A system message for 1-100 users (`/message/system/publish.json`; 100 users a
    second); fields: `SystemFields`."""

    __slots__ = ()
    _build = staticmethod(system_template)
    default_pack = FANOUT_SYSTEM_PACK

    def __init__(self, **fields: Unpack[SystemFields]) -> None:
        super().__init__(fields)


class GroupFanoutKwargs(GroupFields, FanoutKwargs, total=False):
    """The keywords of `fanout_group`: a group message's fields and the fan-out options."""


class ChatroomFanoutKwargs(ChatroomFields, FanoutKwargs, total=False):
    """The keywords of `fanout_chatroom`: a chatroom message's fields and the options."""


def split_fanout_kwargs(kwargs: Mapping[str, Any]) -> tuple[Any, FanoutKwargs]:
    """`fanout_*` keywords -> (the message's fields, the fan-out options)."""
    options = {k: v for k, v in kwargs.items() if k in FanoutKwargs.__annotations__}
    fields = {k: v for k, v in kwargs.items() if k not in options}
    return fields, options  # type: ignore[return-value]


class PrivateFanoutKwargs(PrivateFields, FanoutKwargs, total=False):
    """The keywords of `fanout_private`: a private message's fields and the options."""


class SystemFanoutKwargs(SystemFields, FanoutKwargs, total=False):
    """The keywords of `fanout_system`: a system message's fields and the options."""
