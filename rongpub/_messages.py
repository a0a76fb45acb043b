"""Typed content of RongCloud's built-in message types (docs: message-about/objectname).

Each class knows its `object_name`, so `publish_*` can omit `object_name` when given one.
Fields are snake_case in Python and camelCase on the wire; unset (None) fields are omitted.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import msgspec

__all__ = [
    "CommandMessage",
    "FileMessage",
    "GIFMessage",
    "ImageMessage",
    "ImageTextMessage",
    "InformationNotification",
    "LocationMessage",
    "MentionedInfo",
    "Message",
    "ReferenceMessage",
    "SightMessage",
    "TextMessage",
    "UserInfo",
    "VoiceMessage",
]


class _Wire(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename="camel"):
    """Base of every JSON-encoded value: immutable, keyword-only, camelCase, unset omitted."""


class UserInfo(_Wire, frozen=True, kw_only=True):
    """The sender as shown by clients: `id`, display `name`, `portrait` URL, `extra`."""

    id: str
    name: str | None = None
    portrait: str | None = None
    extra: str | None = None


class MentionedInfo(_Wire, frozen=True, kw_only=True):
    """Who an @ message mentions: `type` 1 = everyone, 2 = the users in `user_ids`.

    Takes effect only when the send sets `mentioned=True`.
    """

    type: Literal[1, 2]
    user_ids: list[str] | None = msgspec.field(default=None, name="userIdList")
    mentioned_content: str | None = None


class Message(_Wire, frozen=True, kw_only=True):
    """Base class of the typed built-in messages; `object_name` is the wire objectName."""

    object_name: ClassVar[str]


class TextMessage(Message, frozen=True, kw_only=True):
    """RC:TxtMsg: plain text, optionally mentioning users (see `MentionedInfo`)."""

    object_name: ClassVar[str] = "RC:TxtMsg"
    content: str
    extra: str | None = None
    user: UserInfo | None = None
    mentioned_info: MentionedInfo | None = None


class ImageMessage(Message, frozen=True, kw_only=True):
    """RC:ImgMsg: `content` is a base64 thumbnail, `image_uri` the full image."""

    object_name: ClassVar[str] = "RC:ImgMsg"
    content: str
    image_uri: str
    extra: str | None = None
    user: UserInfo | None = None


class VoiceMessage(Message, frozen=True, kw_only=True):
    """RC:HQVCMsg: high-quality voice; `duration` in seconds."""

    object_name: ClassVar[str] = "RC:HQVCMsg"
    remote_url: str
    duration: int
    local_path: str | None = None
    extra: str | None = None
    user: UserInfo | None = None


class FileMessage(Message, frozen=True, kw_only=True):
    """RC:FileMsg: `size` in bytes, `type` the file extension."""

    object_name: ClassVar[str] = "RC:FileMsg"
    name: str
    size: int
    type: str
    file_url: str
    extra: str | None = None
    user: UserInfo | None = None


class LocationMessage(Message, frozen=True, kw_only=True):
    """RC:LBSMsg: `content` is a base64 map thumbnail; coordinates in degrees."""

    object_name: ClassVar[str] = "RC:LBSMsg"
    content: str
    latitude: float
    longitude: float
    poi: str
    extra: str | None = None
    user: UserInfo | None = None


class ImageTextMessage(Message, frozen=True, kw_only=True):
    """RC:ImgTextMsg: a rich card with `title`, text `content`, image and link."""

    object_name: ClassVar[str] = "RC:ImgTextMsg"
    title: str
    content: str
    image_uri: str | None = None
    url: str | None = None
    extra: str | None = None
    user: UserInfo | None = None


class SightMessage(Message, frozen=True, kw_only=True):
    """RC:SightMsg: short video; `duration` in seconds, `size` in bytes."""

    object_name: ClassVar[str] = "RC:SightMsg"
    content: str
    sight_url: str
    duration: int
    size: int
    name: str
    extra: str | None = None
    user: UserInfo | None = None


class GIFMessage(Message, frozen=True, kw_only=True):
    """RC:GIFMsg: `gif_data_size` in bytes, `width`/`height` in pixels."""

    object_name: ClassVar[str] = "RC:GIFMsg"
    remote_url: str
    gif_data_size: int
    width: int
    height: int
    local_path: str | None = None
    extra: str | None = None
    user: UserInfo | None = None


class ReferenceMessage(Message, frozen=True, kw_only=True):
    """RC:ReferenceMsg: a reply quoting `refer_msg` (the quoted message's content)."""

    object_name: ClassVar[str] = "RC:ReferenceMsg"
    content: str
    refer_msg_user_id: str
    refer_msg: dict[str, object]
    obj_name: str
    refer_msg_uid: str | None = None


class CommandMessage(Message, frozen=True, kw_only=True):
    """RC:CmdMsg: an app-defined command `name` with opaque `data`."""

    object_name: ClassVar[str] = "RC:CmdMsg"
    name: str
    data: str


class InformationNotification(Message, frozen=True, kw_only=True):
    """RC:InfoNtf: a grey system line in the conversation."""

    object_name: ClassVar[str] = "RC:InfoNtf"
    message: str
    extra: str | None = None
