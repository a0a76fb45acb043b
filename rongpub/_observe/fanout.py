"""The record of one fan-out run: log lines at its start and end, an INTERNAL span over it,
and the `rongpub.fanout.targets` counter by status.

The counter follows the report: each progress call (every `progress_interval` and at the end)
adds what the counts grew by since the last, so targets settled by any path are counted once.
The run's sends are not children of its span: a million-target run is not one trace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from .._exceptions import RongCloudError
from .telemetry import Telemetry, error_type

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from .._fanout.report import FanoutReport

__all__ = ["FanoutRecord"]

_log = logging.getLogger("rongpub.fanout")
_STATUSES = ("sent", "failed", "unknown")


class FanoutRecord:
    """Records a run of `report`; `progress` is the ledger's progress callback (it calls
    `on_progress` after counting)."""

    def __init__(
        self,
        telemetry: Telemetry,
        report: FanoutReport,
        on_progress: Callable[[FanoutReport], object] | None,
    ) -> None:
        self._telemetry = telemetry
        self._report = report
        self._on_progress = on_progress
        self._counted = dict.fromkeys(_STATUSES, 0)
        self._span: Span | None = None
        quota = "unlimited" if report.quota is None else f"{report.quota}/s"
        journal = "no journal" if report.journal is None else f"journal {report.journal}"
        total = "an unknown number of" if report.total is None else report.total
        _log.info(
            "fan-out to %s targets started: %s targets, quota %s, %s",
            *(report.api, total, quota, journal),
        )
        instruments = telemetry.instruments
        if instruments is not None:
            attributes: dict[str, str | int] = {
                "messaging.system": "rongcloud",
                "messaging.destination.template": report.api,
            }
            if report.total is not None:
                attributes["rongpub.fanout.total"] = report.total
            self._span = instruments.start_internal(f"fanout {report.api}", attributes)

    def progress(self, report: FanoutReport) -> None:
        instruments = self._telemetry.instruments
        if instruments is not None:
            for status in _STATUSES:
                count = getattr(report, status)
                if count != self._counted[status]:
                    pairs = (
                        ("messaging.destination.template", report.api),
                        ("rongpub.status", status),
                    )
                    instruments.fanout_targets.add(
                        count - self._counted[status], self._telemetry.attributes(*pairs)
                    )
                    self._counted[status] = count
        if self._on_progress is not None:
            self._on_progress(report)

    def finished(self, exc: BaseException | None) -> None:
        """The run is over: completed (`exc` None), stopped by `exc`, or cancelled."""
        report = self._report
        counts = (
            f"{report.sent} sent, {report.failed} failed, {report.unknown} unknown, "
            f"{report.already_sent + report.already_unknown} settled before, "
            f"{report.elapsed:.1f} s"
        )
        if exc is None:
            _log.info("fan-out to %s targets finished: %s", report.api, counts)
        elif isinstance(exc, Exception):
            _log.warning("fan-out to %s targets aborted by %s: %s", report.api, exc, counts)
        else:
            _log.warning("fan-out to %s targets cancelled: %s", report.api, counts)
        span, instruments = self._span, self._telemetry.instruments
        if span is None or instruments is None:
            return
        span.set_attributes(
            {f"rongpub.fanout.{status}": getattr(report, status) for status in _STATUSES}
        )
        if exc is not None:
            span.set_attribute("error.type", error_type(exc))
            instruments.set_error(
                span, str(exc) if isinstance(exc, RongCloudError) else error_type(exc)
            )
        span.end()
