"""What a fan-out writes its journal to (`FanoutJournal`), and the JSONL file one.

The engine opens the journal (which settles what earlier runs left: a dead run's
`sending` targets become unknown), awaits `sending` just before each request leaves, hands
every outcome to `write`, runs `keep` in its task group while it sends and awaits `close`
once. A journal that can no longer guarantee one writer (`JournalLostError` from `sending`,
or passed to `on_lost` by `keep`) stops the run: nothing more is sent.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import anyio

from .journal import Journal, Settled
from .outcomes import TargetOutcome

__all__ = ["FanoutJournal", "FileJournal", "journal_for"]


@runtime_checkable
class FanoutJournal(Protocol):
    """The journal of one fan-out run at a time; see the module docstring for the order."""

    @property
    def description(self) -> str:
        """Where the journal lives, for the report (no password)."""
        ...

    async def open(self, api: str, message: str, *, resend_unknown: bool) -> Settled:
        """Become its one writer (`JournalInUseError` if another run is) and return what
        earlier runs settled; `InvalidRequestError` if it belongs to another message."""
        ...

    async def keep(self, on_lost: Callable[[Exception], None]) -> None:
        """Keep the right to write while the run sends (runs until cancelled); call
        `on_lost(error)` if it is lost."""
        ...

    async def sending(self, request_id: str, targets: list[str]) -> None:
        """Record that a request to `targets` is about to leave; returns once recorded."""
        ...

    def write(self, outcomes: list[TargetOutcome]) -> None:
        """Record outcomes (at once, or with the next `sending` / `close`)."""
        ...

    async def close(self) -> None:
        """Record what is left and let the next run in; safe to call twice."""
        ...


class FileJournal:
    """The JSONL journal at `path` (`journal.Journal`), held with its `flock` lock."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._journal: Journal | None = None

    @property
    def description(self) -> str:
        """The file's path."""
        return self.path

    async def open(self, api: str, message: str, *, resend_unknown: bool) -> Settled:
        """Read the file in a worker thread (it may hold a million lines)."""
        journal = self._journal = Journal(self.path, api, message)
        try:
            await anyio.to_thread.run_sync(lambda: journal.open(resend_unknown=resend_unknown))
        except BaseException:  # e.g. cancelled while it was read: it opened all the same
            journal.close()
            raise
        return journal.settled

    async def keep(self, on_lost: Callable[[Exception], None]) -> None:
        """The kernel keeps the lock for as long as the process lives: nothing to do."""

    async def sending(self, request_id: str, targets: list[str]) -> None:
        """Append the `sending` line (flushed to the OS before the request leaves)."""
        self._opened().sending(request_id, targets)

    def write(self, outcomes: list[TargetOutcome]) -> None:
        """Append one line per outcome, flushed to the OS."""
        self._opened().write(outcomes)

    async def close(self) -> None:
        """fsync, close and unlock."""
        if self._journal is not None:
            self._journal.close()

    def _opened(self) -> Journal:
        if self._journal is None:
            raise RuntimeError("the journal is not open")
        return self._journal


def journal_for(journal: str | os.PathLike[str] | FanoutJournal | None) -> FanoutJournal | None:
    """The journal the `journal` option names: a path is a JSONL file."""
    if journal is None or isinstance(journal, FanoutJournal):
        return journal
    return FileJournal(journal)
