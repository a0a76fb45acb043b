"""Live progress of fan-outs on a terminal: a rich progress bar (the `cli` extra), or plain
periodic lines when rich is absent or the output is not a terminal.

Each fan-out gets a row: sent / failed / unknown, the rate against the quota, and the ETA.
`ProgressDisplay.track(label)` returns the `on_progress` callback of one fan-out.
"""

from __future__ import annotations

import abc
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

from .._fanout.report import FanoutReport

__all__ = ["ProgressDisplay", "describe", "open_display"]

Callback = Callable[[FanoutReport], None]

#: Seconds between two plain progress lines of one fan-out.
PLAIN_INTERVAL = 5.0


def describe(report: FanoutReport) -> tuple[str, str]:
    """The counts and the rate/ETA of `report`, as two short texts."""
    counts = f"{report.sent} sent, {report.failed} failed, {report.unknown} unknown"
    skipped = report.already_sent + report.already_unknown
    if skipped:
        counts += f", {skipped} skipped"
    rate = f"{report.rate:.1f}/s" + (f" of {report.quota_text}" if report.quota else "")
    eta = report.eta
    if eta is not None and not report.done:
        rate += f", ETA {_duration(eta)}"
    return counts, rate


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


class ProgressDisplay(abc.ABC):
    """A context manager showing one row per tracked fan-out until it exits."""

    @abc.abstractmethod
    def track(self, label: str) -> Callback:
        """The `on_progress` callback that draws the row `label`."""

    def __enter__(self) -> ProgressDisplay:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None


class _Plain(ProgressDisplay):
    """A line per fan-out every `PLAIN_INTERVAL` seconds, and one when it is done."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def track(self, label: str) -> Callback:
        last = [-PLAIN_INTERVAL]

        def update(report: FanoutReport) -> None:
            now = time.monotonic()
            if report.done or now - last[0] >= PLAIN_INTERVAL:
                last[0] = now
                counts, rate = describe(report)
                print(f"{label}: {counts}; {rate}", file=self._stream, flush=True)

        return update


class _Rich(ProgressDisplay):
    """A rich progress bar per fan-out (a pulsing one when the total is unknown)."""

    def __init__(self, progress: Any) -> None:
        self._progress = progress

    def track(self, label: str) -> Callback:
        task = self._progress.add_task(label, total=None, counts="", rate="")

        def update(report: FanoutReport) -> None:
            counts, rate = describe(report)
            done = report.taken - report.pending
            total = report.total if report.total is not None else (done if report.done else None)
            self._progress.update(task, completed=done, total=total, counts=counts, rate=rate)

        return update

    def __enter__(self) -> ProgressDisplay:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.stop()


def open_display(*, plain: bool | None = None, stream: TextIO | None = None) -> ProgressDisplay:
    """A rich display on a terminal when rich is installed, else plain lines on `stream`
    (default stderr). `plain=True` forces plain lines, `False` forces rich when present."""
    stream = stream or sys.stderr
    if plain is None:
        plain = not stream.isatty()
    if not plain:
        try:
            return _Rich(_rich_progress(stream))
        except ImportError:
            pass
    return _Plain(stream)


def _rich_progress(stream: TextIO) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(
        TextColumn("{task.description:<9}"),
        BarColumn(bar_width=30),
        MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"),
        TextColumn("[dim]{task.fields[rate]}"),
        console=Console(file=stream),
        refresh_per_second=4,
    )
