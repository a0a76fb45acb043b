"""Request signing as the real server checks it: four headers, sha1(secret + nonce + timestamp).

Each header may also carry an `RC-` prefix (`RC-App-Key`, ...). Timestamps in seconds and
in milliseconds are both accepted, as the real server does. Three rules are relaxed unless
strict (see `_leniency`): nonces over 18 characters (the Go SDK sends 19 digits), upper-case hex
signatures, and the timestamp's age (checked only when a freshness window is set).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from .._constants import MAX_NONCE
from ._leniency import Judge
from ._wire import Rejection

__all__ = ["check_signature", "sign"]

_UNAUTHORIZED = 401
_WRONG_KEY = 1001
_BAD_SIGNATURE = 1004
# Seconds since the epoch have 10 digits until 2286, milliseconds 13.
_TIMESTAMP_DIGITS = (10, 13)


def sign(secret: str, nonce: str, timestamp: str) -> str:
    """The documented signature: sha1 of secret + nonce + timestamp, lowercase hex."""
    return hashlib.sha1((secret + nonce + timestamp).encode()).hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """`name` (lower case) or its `rc-` prefixed twin; the plain name wins when both are set."""
    value = headers.get(name)
    return value if value is not None else headers.get("rc-" + name)


def check_signature(
    headers: Mapping[str, str],
    apps: Mapping[str, str],
    judge: Judge,
    *,
    now: float = 0.0,
    max_age: float | None = None,
) -> str:
    """The app key of a correctly signed request; raises `Rejection` (401) otherwise.

    `headers` maps lower-case names to values; `apps` maps app key to secret; `now`: seconds
    since the epoch; `max_age`: seconds a timestamp may differ from `now` (None: unchecked).
    """
    app_key = _header(headers, "app-key")
    if not app_key:
        raise Rejection(_UNAUTHORIZED, _WRONG_KEY, "App-Key header is missing")
    secret = apps.get(app_key)
    if secret is None:
        raise Rejection(_UNAUTHORIZED, _WRONG_KEY, "unknown App-Key")
    nonce = _header(headers, "nonce")
    timestamp = _header(headers, "timestamp")
    signature = _header(headers, "signature")
    if not nonce or not timestamp or not signature:
        raise Rejection(_UNAUTHORIZED, _BAD_SIGNATURE, "Nonce, Timestamp and Signature needed")
    if len(nonce) > MAX_NONCE:
        message = f"Nonce {nonce!r} is longer than {MAX_NONCE} characters"
        judge.relax("long-nonce", "Nonce", Rejection(_UNAUTHORIZED, _BAD_SIGNATURE, message))
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) in _TIMESTAMP_DIGITS):
        raise Rejection(_UNAUTHORIZED, _BAD_SIGNATURE, "Timestamp must be seconds or milliseconds")
    if max_age is not None:
        _check_age(int(timestamp), now, max_age)
    _check_digest(signature, sign(secret, nonce, timestamp), judge)
    return app_key


def _check_age(timestamp: int, now: float, max_age: float) -> None:
    seconds = timestamp / 1000 if len(str(timestamp)) == _TIMESTAMP_DIGITS[1] else timestamp
    if abs(now - seconds) > max_age:
        message = f"Timestamp is {now - seconds:.0f} s from the server's clock (max {max_age:g})"
        raise Rejection(_UNAUTHORIZED, _BAD_SIGNATURE, message)


def _check_digest(signature: str, expected: str, judge: Judge) -> None:
    if hmac.compare_digest(signature.encode(), expected.encode()):
        return
    if not hmac.compare_digest(signature.lower().encode(), expected.encode()):
        raise Rejection(_UNAUTHORIZED, _BAD_SIGNATURE, "signature mismatch")
    error = Rejection(_UNAUTHORIZED, _BAD_SIGNATURE, "Signature must be lower-case hex")
    judge.relax("upper-case-signature", "Signature", error)
