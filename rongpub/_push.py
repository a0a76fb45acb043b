"""`pushExt`: the push-notification settings of a group message, typed per vendor.

On the wire `pushExt` is a JSON string whose `pushConfigs` is a list of one-key objects
(`[{"HW": {...}}, {"MI": {...}}]`); `PushExt` hides that shape behind one field per vendor.
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "APNsPush",
    "FCMPush",
    "HonorPush",
    "HuaweiPush",
    "OHOSPush",
    "OppoPush",
    "PushExt",
    "VivoPush",
    "XiaomiPush",
]

Importance = Literal["NORMAL", "LOW"]


class _Vendor(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Base of a vendor block: immutable, keyword-only, unset fields omitted."""


class HonorPush(_Vendor, frozen=True, kw_only=True):
    """HONOR: `importance` and a right-hand `image` URL (https)."""

    importance: Importance | None = None
    image: str | None = None


class HuaweiPush(_Vendor, frozen=True, kw_only=True):
    """HW: notification `channel_id`, `importance`, `image` URL (https), `category` (e.g. IM)."""

    channel_id: str | None = msgspec.field(default=None, name="channelId")
    importance: Importance | None = None
    image: str | None = None
    category: str | None = None


class XiaomiPush(_Vendor, frozen=True, kw_only=True):
    """MI: notification `channel_id` and `large_icon_uri`."""

    channel_id: str | None = msgspec.field(default=None, name="channelId")
    large_icon_uri: str | None = None


class OppoPush(_Vendor, frozen=True, kw_only=True):
    """OPPO: notification `channel_id`."""

    channel_id: str | None = msgspec.field(default=None, name="channelId")


class VivoPush(_Vendor, frozen=True, kw_only=True):
    """VIVO: `classification` 0 (operations, default) or 1 (system), and `category`."""

    classification: Literal[0, 1] | None = None
    category: str | None = None


class APNsPush(_Vendor, frozen=True, kw_only=True):
    """APNs: grouping `thread_id`, `apns_collapse_id`, `rich_media_uri`, `interruption_level`."""

    thread_id: str | None = msgspec.field(default=None, name="thread-id")
    apns_collapse_id: str | None = msgspec.field(default=None, name="apns-collapse-id")
    rich_media_uri: str | None = msgspec.field(default=None, name="richMediaUri")
    interruption_level: Literal["passive", "active", "time-sensitive", "critical"] | None = (
        msgspec.field(default=None, name="interruption-level")
    )


class FCMPush(_Vendor, frozen=True, kw_only=True):
    """FCM: notification `channel_id`, `collapse_key`, `image_url`."""

    channel_id: str | None = msgspec.field(default=None, name="channelId")
    collapse_key: str | None = None
    image_url: str | None = msgspec.field(default=None, name="imageUrl")


class OHOSPush(_Vendor, frozen=True, kw_only=True):
    """OHOS (HarmonyOS): notification `category` and `image` URL (https)."""

    category: str | None = None
    image: str | None = None


_VENDORS = (
    ("MI", "mi"),
    ("HONOR", "honor"),
    ("HW", "hw"),
    ("OPPO", "oppo"),
    ("VIVO", "vivo"),
    ("APNs", "apns"),
    ("FCM", "fcm"),
    ("OHOS", "ohos"),
)


class PushExt(msgspec.Struct, frozen=True, kw_only=True):
    """Push settings: `title` (<= 50 chars), `template_id`, `force_show_push_content`,
    and one optional block per vendor."""

    title: str | None = None
    template_id: str | None = None
    force_show_push_content: bool | None = None
    mi: XiaomiPush | None = None
    honor: HonorPush | None = None
    hw: HuaweiPush | None = None
    oppo: OppoPush | None = None
    vivo: VivoPush | None = None
    apns: APNsPush | None = None
    fcm: FCMPush | None = None
    ohos: OHOSPush | None = None

    def to_wire(self) -> dict[str, object]:
        """The documented JSON object, unset fields omitted."""
        wire: dict[str, object] = {}
        if self.title is not None:
            wire["title"] = self.title
        if self.template_id is not None:
            wire["templateId"] = self.template_id
        if self.force_show_push_content is not None:
            wire["forceShowPushContent"] = int(self.force_show_push_content)
        configs = [
            {key: block} for key, attr in _VENDORS if (block := getattr(self, attr)) is not None
        ]
        if configs:
            wire["pushConfigs"] = configs
        return wire
