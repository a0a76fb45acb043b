"""Fan-out's options (`FanoutOptions`) and their defaults, in one place."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal, TypedDict

from .._constants import MAX_GROUPS, MAX_PRIVATE_USERS, MAX_SYSTEM_USERS
from .._limit.protocol import Lane
from .report import FanoutReport
from .store import FanoutJournal

__all__ = ["FanoutKwargs", "FanoutOptions", "KeepResults"]

#: Targets per request: groups at most 3 (the documents); chatrooms "advised" at most 10.
FANOUT_GROUP_PACK: Final = MAX_GROUPS
FANOUT_CHATROOM_PACK: Final = 10
#: Private and system messages: the documents' toUserId maxima (1,000 and 100).
FANOUT_PRIVATE_PACK: Final = MAX_PRIVATE_USERS
FANOUT_SYSTEM_PACK: Final = MAX_SYSTEM_USERS
#: Requests in flight at once: bounds of the Little's-law estimate, and the number used
#: when there is no quota to derive it from.
FANOUT_MIN_CONCURRENCY: Final = 2
FANOUT_MAX_CONCURRENCY: Final = 64
FANOUT_UNLIMITED_CONCURRENCY: Final = 16
#: Seconds a request is assumed to take before any finished; multiplier over the estimate.
FANOUT_INITIAL_LATENCY: Final = 0.25
FANOUT_HEADROOM: Final = 2.0
#: Seconds in-flight requests may take to settle after a cancel.
FANOUT_GRACE: Final = 5.0
#: Seconds between two progress callbacks.
FANOUT_PROGRESS_INTERVAL: Final = 0.25
#: Packs waiting between the reader of the targets and the senders (bounds memory).
FANOUT_QUEUED_PACKS: Final = 64
#: Ids read from a synchronous iterable between two yields to the event loop.
FANOUT_READ_CHUNK: Final = 256

#: Which outcomes `FanoutReport.results` keeps: every one (memory grows with the targets),
#: only failed and unknown ones, or none (counts and the journal only).
KeepResults = Literal["all", "problems", "none"]


@dataclass(frozen=True, kw_only=True)
class FanoutOptions:
    """How a fan-out runs; see `RongCloud.fanout_group` for each option."""

    pack_size: int
    concurrency: int | None = None
    journal: str | os.PathLike[str] | FanoutJournal | None = None
    resend_unknown: bool = False
    dedupe: bool = True
    keep_results: KeepResults = "problems"
    on_progress: Callable[[FanoutReport], object] | None = None
    progress_interval: float = FANOUT_PROGRESS_INTERVAL
    grace: float = FANOUT_GRACE
    total: int | None = None
    lane: Lane = "bulk"


class FanoutKwargs(TypedDict, total=False):
    """`FanoutOptions` but `pack_size`, as keyword arguments of `RongCloud.fanout_*`."""

    concurrency: int | None
    journal: str | os.PathLike[str] | FanoutJournal | None
    resend_unknown: bool
    dedupe: bool
    keep_results: KeepResults
    on_progress: Callable[[FanoutReport], object] | None
    progress_interval: float
    grace: float
    total: int | None
    lane: Lane
