"""Where fan-out outcomes go: the report's counts, the kept results, the journal, progress."""

from __future__ import annotations

from collections.abc import Callable

import anyio

from .._request import PreparedRequest
from .options import KeepResults
from .outcomes import TargetOutcome, is_unsent, not_sent
from .report import FanoutReport
from .store import FanoutJournal

__all__ = ["Ledger"]

_STOPPED = "the fan-out stopped before this target was sent"


class Ledger:
    """Records every outcome exactly once, as it happens."""

    def __init__(
        self,
        report: FanoutReport,
        *,
        keep: KeepResults,
        journal: FanoutJournal | None,
        on_progress: Callable[[FanoutReport], object] | None,
    ) -> None:
        self.report = report
        self._keep = keep
        self._journal = journal
        self._on_progress = on_progress
        self._start = anyio.current_time()

    def settle(self, outcomes: list[TargetOutcome]) -> None:
        """Count, keep and journal the outcomes of pending targets."""
        report = self.report
        statuses = [outcome.status for outcome in outcomes]
        sent = statuses.count("sent")
        report.sent += sent
        if sent != len(statuses):
            report.failed += statuses.count("failed")
            report.unknown += statuses.count("unknown")
            report.unsent += sum(1 for outcome in outcomes if is_unsent(outcome))
        report.pending -= len(outcomes)
        if self._keep == "all":
            report.results.extend(outcomes)
        elif self._keep == "problems":
            report.results.extend(o for o in outcomes if o.status != "sent")
        if self._journal is not None:
            self._journal.write(outcomes)

    async def sending(self, request: PreparedRequest) -> None:
        """A request has its quota and is about to leave: the journal notes its targets
        first (a request still queued for quota when the process dies is not unknown)."""
        if self._journal is not None:
            await self._journal.sending(request.request_id, list(request.targets))

    def reject(self, outcome: TargetOutcome) -> None:
        """The outcome of a target refused before it was pending (an invalid id)."""
        self.report.pending += 1
        self.settle([outcome])

    def abandon(self, targets: list[str]) -> None:
        """Pending targets that will never be sent: failed, retryable."""
        if targets:
            self.settle(not_sent(targets, _STOPPED))

    def progress(self) -> None:
        """Update the elapsed time and call the progress callback."""
        self.report.elapsed = anyio.current_time() - self._start
        if self._on_progress is not None:
            self._on_progress(self.report)

    async def tick(self, interval: float) -> None:
        """Report progress every `interval` seconds until cancelled."""
        while True:
            await anyio.sleep(interval)
            self.progress()

    async def close(self) -> None:
        """The run is over: close the journal, mark the report done, report progress once more."""
        if self._journal is not None:
            await self._journal.close()
        self.report.done = True
        self.progress()
