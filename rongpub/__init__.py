"""rongpub: an async client for RongCloud's server messaging API."""

from ._client import RongCloud
from ._config import RateLimits, RetryPolicy
from ._exceptions import (
    APIError,
    AuthenticationError,
    ConnectionFailedError,
    DeliveryUnknownError,
    InvalidRequestError,
    JournalInUseError,
    JournalLostError,
    LimiterUnavailableError,
    QuotaWaitTooLongError,
    RateLimitedError,
    RejectedError,
    RongCloudError,
)
from ._family.request import BroadcastFields, PrivateFields, SystemFields
from ._fanout.engine import Fanout
from ._fanout.outcomes import TargetOutcome
from ._fanout.report import FanoutAborted, FanoutReport
from ._limit.protocol import Lane, Limiter, Quota
from ._limit.sliding_log import SlidingWindowLimiter
from ._messages import (
    CommandMessage,
    FileMessage,
    GIFMessage,
    ImageMessage,
    ImageTextMessage,
    InformationNotification,
    LocationMessage,
    MentionedInfo,
    Message,
    ReferenceMessage,
    SightMessage,
    TextMessage,
    UserInfo,
    VoiceMessage,
)
from ._outgoing import ChatroomMessage, GroupMessage, OutgoingMessage, PrivateMessage, SystemMessage
from ._push import (
    APNsPush,
    FCMPush,
    HonorPush,
    HuaweiPush,
    OHOSPush,
    OppoPush,
    PushExt,
    VivoPush,
    XiaomiPush,
)
from ._request import ChatroomFields, GroupFields
from ._response import PublishResult

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "APNsPush",
    "AuthenticationError",
    "BroadcastFields",
    "ChatroomFields",
    "ChatroomMessage",
    "CommandMessage",
    "ConnectionFailedError",
    "DeliveryUnknownError",
    "FCMPush",
    "Fanout",
    "FanoutAborted",
    "FanoutReport",
    "FileMessage",
    "GIFMessage",
    "GroupFields",
    "GroupMessage",
    "HonorPush",
    "HuaweiPush",
    "ImageMessage",
    "ImageTextMessage",
    "InformationNotification",
    "InvalidRequestError",
    "JournalInUseError",
    "JournalLostError",
    "Lane",
    "Limiter",
    "LimiterUnavailableError",
    "LocationMessage",
    "MentionedInfo",
    "Message",
    "OHOSPush",
    "OppoPush",
    "OutgoingMessage",
    "PrivateFields",
    "PrivateMessage",
    "PublishResult",
    "PushExt",
    "Quota",
    "QuotaWaitTooLongError",
    "RateLimitedError",
    "RateLimits",
    "ReferenceMessage",
    "RejectedError",
    "RetryPolicy",
    "RongCloud",
    "RongCloudError",
    "SightMessage",
    "SlidingWindowLimiter",
    "SystemFields",
    "SystemMessage",
    "TargetOutcome",
    "TextMessage",
    "UserInfo",
    "VivoPush",
    "VoiceMessage",
    "XiaomiPush",
]
