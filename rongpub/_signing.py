"""Request signing (docs: platform-chat-api/auth).

`Signature = sha1(app_secret + nonce + timestamp)` as lowercase hex. A fresh nonce and
millisecond timestamp are used for every attempt, so a retried request is signed anew.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable

from ._constants import MAX_NONCE

__all__ = ["Credentials", "Secret", "signature"]


def signature(app_secret: str, nonce: str, timestamp: str) -> str:
    """Lowercase hex sha1 of secret + nonce + timestamp, as the server computes it."""
    return hashlib.sha1((app_secret + nonce + timestamp).encode("utf-8")).hexdigest()


class Secret:
    """The app secret, masked: its repr and str are '***'; only `reveal()` gives the text,
    called where a signature is computed. Traceback locals and debuggers show the mask."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return "***"

    __str__ = __repr__

    def reveal(self) -> str:
        return self._value


class Credentials:
    """An app key and secret; the secret never appears in a repr or an error."""

    __slots__ = ("_secret", "app_key", "clock")

    def __init__(
        self, app_key: str, app_secret: str | Secret, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.app_key = app_key
        self._secret = app_secret if isinstance(app_secret, Secret) else Secret(app_secret)
        self.clock = clock

    def __repr__(self) -> str:
        return f"Credentials(app_key={self.app_key!r}, app_secret='***')"

    def headers(self) -> dict[str, str]:
        """The four signature headers for one attempt."""
        nonce = secrets.token_hex(MAX_NONCE // 2)
        timestamp = str(int(self.clock() * 1000))
        return {
            "App-Key": self.app_key,
            "Nonce": nonce,
            "Timestamp": timestamp,
            "Signature": signature(self._secret.reveal(), nonce, timestamp),
        }
