"""application/x-www-form-urlencoded bodies, byte-exact.

Every value is percent-encoded as UTF-8 with only RFC 3986 unreserved characters left bare
(space is `%20`, so a server that does not map `+` to space still reads it right). Repeated
keys carry lists (`toGroupId=a&toGroupId=b`). msgspec has no form encoder, and a join with a
fast path for already-safe values measured ~1.6x faster than `urllib.parse.urlencode`.

Values that need escaping are escaped with one `str.translate` over a 256-entry table (the
UTF-8 bytes read as Latin-1, one code point per byte): the same text as `quote(safe="-._~")`,
in half the time of its per-byte loop. A message's content is escaped on every send.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["encode_form"]

_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
_UNRESERVED = frozenset(_SAFE)
# Byte b (as code point b) -> itself when unreserved, else %XX in upper-case hex.
_QUOTED = [chr(b) if chr(b) in _UNRESERVED else f"%{b:02X}" for b in range(256)]


def _escape(value: str | bytes) -> str:
    if isinstance(value, str):
        if _UNRESERVED.issuperset(value):
            return value
        value = value.encode("utf-8")
    return value.decode("latin-1").translate(_QUOTED)


def encode_form(pairs: Iterable[tuple[str, str | bytes]]) -> bytes:
    """Encode (key, value) pairs in order; keys are ASCII names and are not escaped."""
    return "&".join(f"{key}={_escape(value)}" for key, value in pairs).encode("ascii")
