"""Defaults and fixed facts of the RongCloud API, in one place."""

from __future__ import annotations

from typing import Final

#: Primary and backup API hosts per data centre (docs: platform-chat-api/base-url).
REGIONS: Final[dict[str, tuple[str, str]]] = {
    "cn": ("https://api.rong-api.com", "https://api-b.rong-api.com"),
    "sg": ("https://api.sg-light-api.com", "https://api-b.sg-light-api.com"),
    "sg-b": ("https://api.sg-b-light-api.com", "https://api-b.sg-b-light-api.com"),
    "na": ("https://api.us-light-api.com", "https://api-b.us-light-api.com"),
    "sa": ("https://api.sau-light-api.com", "https://api-b.sau-light-api.com"),
}

GROUP_PUBLISH_PATH: Final = "/message/group/publish.json"
CHATROOM_PUBLISH_PATH: Final = "/message/chatroom/publish.json"
PRIVATE_PUBLISH_PATH: Final = "/message/private/publish.json"
SYSTEM_PUBLISH_PATH: Final = "/message/system/publish.json"
BROADCAST_PATH: Final = "/message/chatroom/broadcast.json"

#: Seconds; the docs recommend switching hosts after a 5 s timeout.
DEFAULT_TIMEOUT: Final = 5.0
#: Seconds between two host switches caused by ambiguous failures (as the official Go SDK).
FAILOVER_COOLDOWN: Final = 30.0

#: Messages per second per app key (docs: platform-chat-api/limits).
GROUP_RATE_LIMIT: Final = 20
CHATROOM_RATE_LIMIT: Final = 100
#: Private messages per PRIVATE_WINDOW seconds (docs: message/send-private, "per minute"),
#: system messages per second (system/send-private), chatroom broadcasts per second.
PRIVATE_RATE_LIMIT: Final = 6000
PRIVATE_WINDOW: Final = 60.0
SYSTEM_RATE_LIMIT: Final = 100
BROADCAST_RATE_LIMIT: Final = 1
#: Seconds added to the 1 s window to absorb jitter between the client and the server.
DEFAULT_WINDOW_MARGIN: Final = 0.01
#: Least share of a quota kept for bulk sends (fan-outs) while interactive ones also wait.
DEFAULT_BULK_SHARE: Final = 0.1

MAX_GROUPS: Final = 3
#: toUserId values per request: private at most 1,000, system at most 100.
MAX_PRIVATE_USERS: Final = 1000
MAX_SYSTEM_USERS: Final = 100
#: The private `count` field (iOS badge): -1 leaves the badge, else 0..9999.
MAX_BADGE: Final = 9999
MAX_CONTENT_BYTES: Final = 128 * 1024
MAX_OBJECT_NAME: Final = 32
MAX_EXTRA_KEY: Final = 32
MAX_EXTRA_VALUE: Final = 4096
MAX_EXTRA_PAIRS: Final = 100
MAX_PUSH_TITLE: Final = 50
MAX_NONCE: Final = 18
#: User, group and chatroom ids are at most 64 characters (the API's id rules; longer ones are
#: refused with 1005, and the official Python SDK checks the same bound).
MAX_ID_LENGTH: Final = 64
#: Deepest JSON nesting the client sends in content (RongCloud states none; msgspec, and so the
#: emulator, stop near Python's recursion limit, ~1,000, which no real message comes near).
MAX_JSON_DEPTH: Final = 100
MAX_REQUEST_ID: Final = 36

#: How often a 429 is retried before RateLimitedError reaches the caller.
DEFAULT_RATE_LIMITED_RETRIES: Final = 5
#: Seconds; a server Retry-After above this is capped.
MAX_RETRY_AFTER: Final = 60.0

#: Built-in objectNames (docs: message-about/objectname, the notification pages, the public
#: service and IM wrapper SDKs' message tables); other "RC:" names are reserved. The one list
#: the client and the emulator both read (each with its own check).
BUILTIN_OBJECT_NAMES: Final = frozenset(
    {
        "RC:TxtMsg",
        "RC:ImgMsg",
        "RC:VcMsg",
        "RC:HQVCMsg",
        "RC:FileMsg",
        "RC:LBSMsg",
        "RC:ImgTextMsg",
        "RC:SightMsg",
        "RC:GIFMsg",
        "RC:ReferenceMsg",
        "RC:CombineMsg",
        "RC:CombineV2Msg",
        "RC:StreamMsg",
        "RC:CmdMsg",
        "RC:CmdNtf",
        "RC:InfoNtf",
        "RC:ContactNtf",
        "RC:ProfileNtf",
        "RC:GrpNtf",
        "RC:RcNtf",
        "RC:RcCmd",
        "RC:ReadNtf",
        "RC:TypSts",
        "RC:SRSMsg",
        "RC:RRReqMsg",
        "RC:RRRspMsg",
        "RC:chrmKVNotiMsg",
        "RC:chrmSysMsg",
        "RC:chrmSysNtf",
        "RC:PSImgTxtMsg",
        "RC:PSMultiImgTxtMsg",
        "RC:IWNormalMsg",
        "RC:IWCmdMsg",
    }
)
#: Characters allowed in an extraContent key.
EXTRA_KEY_CHARS: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+=-_"
)

APP_KEY_ENV: Final = "RONGCLOUD_APP_KEY"
APP_SECRET_ENV: Final = "RONGCLOUD_APP_SECRET"
