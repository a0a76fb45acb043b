"""What the loopback server allows a client: time to send a request, buffered body memory,
and how it rides out running short of file descriptors (issue #13 case 12).

A server that waits forever on an idle or slow connection, dies on EMFILE, or buffers every
partial body it is sent can be taken down by its own test suite; these bounds keep it serving.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

__all__ = ["BodyBudget", "ServerLimits", "is_out_of_descriptors"]

# accept() errors that mean "no resources right now", not "the listener is broken".
_EXHAUSTED = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


@dataclass(frozen=True, kw_only=True)
class ServerLimits:
    """Bounds of the emulator's HTTP server.

    `request_timeout`: seconds a connection may take to deliver one whole request (head and
    body), counted from when the server starts waiting for it, so an idle keep-alive connection
    is closed after this long too. `max_body_bytes`: one request's body (larger: 413).
    `max_buffered_bytes`: request body bytes buffered over all connections at once (beyond:
    503 and the connection closed). `accept_backoff`: seconds to pause accepting when the
    process is out of file descriptors (EMFILE/ENFILE), before trying again.
    """

    request_timeout: float = 60.0
    max_body_bytes: int = 1024 * 1024
    max_buffered_bytes: int = 64 * 1024 * 1024
    accept_backoff: float = 0.1

    def __post_init__(self) -> None:
        if self.request_timeout <= 0 or self.accept_backoff <= 0:
            raise ValueError("request_timeout and accept_backoff must be positive seconds")
        if self.max_body_bytes < 1 or self.max_buffered_bytes < self.max_body_bytes:
            raise ValueError("max_buffered_bytes must hold at least one max_body_bytes body")


class BodyBudget:
    """The request body bytes buffered by every connection of one server, held under a cap."""

    def __init__(self, capacity: int = ServerLimits.max_buffered_bytes) -> None:
        self.capacity = capacity
        #: Bytes currently buffered (for tests and the stats a benchmark may read).
        self.in_use = 0
        #: Largest `in_use` seen.
        self.peak = 0

    def take(self, size: int) -> bool:
        """Reserve `size` bytes; False (nothing reserved) when that would pass the cap."""
        if self.in_use + size > self.capacity:
            return False
        self.in_use += size
        self.peak = max(self.peak, self.in_use)
        return True

    def give_back(self, size: int) -> None:
        """Release `size` bytes taken earlier."""
        self.in_use -= size


def is_out_of_descriptors(exc: OSError) -> bool:
    """Whether an accept() error is resource exhaustion, worth a pause rather than a crash."""
    return exc.errno in _EXHAUSTED
