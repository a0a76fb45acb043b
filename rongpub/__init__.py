"""rongpub: an async client for RongCloud's server messaging API."""

from ._config import RateLimits, RetryPolicy
from ._exceptions import (
    APIError,
    AuthenticationError,
    ConnectionFailedError,
    DeliveryUnknownError,
    InvalidRequestError,
    LimiterUnavailableError,
    RateLimitedError,
    RejectedError,
    RongCloudError,
)
from ._limiter import Limiter, Quota

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "AuthenticationError",
    "ConnectionFailedError",
    "DeliveryUnknownError",
    "InvalidRequestError",
    "Limiter",
    "LimiterUnavailableError",
    "Quota",
    "RateLimitedError",
    "RateLimits",
    "RejectedError",
    "RetryPolicy",
    "RongCloudError",
]
