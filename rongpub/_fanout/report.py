"""`FanoutReport`: the live and final account of a fan-out, and `FanoutAborted`."""

from __future__ import annotations

from dataclasses import dataclass, field

from .._exceptions import RongCloudError
from .outcomes import TargetOutcome

__all__ = ["FanoutAborted", "FanoutReport"]


@dataclass(eq=False)
class FanoutReport:
    """Counts of a fan-out, updated as it runs; final once `done` is True.

    Every target taken from the input is counted exactly once: `sent`, `failed` or
    `unknown` by this run; `already_sent` / `already_unknown` when the journal of an earlier
    run settled it (skipped); `duplicates` when it repeated an id seen earlier in this run.
    `pending`: targets taken but not settled yet (queued or in a request).
    `unsent`: of `failed`, targets dropped unsent because the run stopped (retryable).
    `results`: the outcomes kept (see `keep_results`).
    `quota`: targets allowed per `window` seconds (None: unlimited); `quota_text` says so.
    `total`: how many targets were announced (len() of the input, or the caller's hint).
    `elapsed`: seconds since the start. `cancelled`: the run was cancelled;
    `error`: what stopped it early (an `AuthenticationError`, ...), else None.
    """

    api: str
    quota: int | None = None
    window: float = 1.0
    total: int | None = None
    journal: str | None = None
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    already_sent: int = 0
    already_unknown: int = 0
    duplicates: int = 0
    pending: int = 0
    unsent: int = 0
    elapsed: float = 0.0
    results: list[TargetOutcome] = field(default_factory=list)
    done: bool = False
    cancelled: bool = False
    error: BaseException | None = None

    @property
    def settled(self) -> int:
        """Targets this run sent, failed or left unknown."""
        return self.sent + self.failed + self.unknown

    @property
    def taken(self) -> int:
        """Targets taken from the input so far (settled, skipped, repeated or pending)."""
        skipped = self.already_sent + self.already_unknown + self.duplicates
        return self.settled + skipped + self.pending

    @property
    def rate(self) -> float:
        """Targets settled per second since the start; targets a stopping run dropped unsent
        are not counted (they took no time)."""
        return self._worked / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def _worked(self) -> int:
        return self.settled - self.unsent

    @property
    def quota_text(self) -> str:
        """The quota as text: "20/s", "6000/60 s"."""
        per = "s" if self.window == 1.0 else f"{self.window:g} s"
        return f"{self.quota}/{per}"

    @property
    def quota_use(self) -> float | None:
        """Targets settled as a fraction of the most the quota allows in `elapsed` seconds:
        `quota` per window plus one window's worth at the start (a sliding window lets a
        full window go at once). None without a quota."""
        if not self.quota:
            return None
        return self._worked / (self.quota * (self.elapsed / self.window + 1))

    @property
    def eta(self) -> float | None:
        """Seconds until every announced target is settled at the current rate, if known."""
        if self.total is None or self.rate <= 0:
            return None
        return max(0, self.total - self.taken + self.pending) / self.rate

    @property
    def complete(self) -> bool:
        """Whether the run finished and every target it was given is known to be sent."""
        problems = self.failed + self.unknown + self.already_unknown
        return self.done and not self.cancelled and self.error is None and problems == 0

    def summary(self) -> str:
        """One line: the counts, the rate against the quota and the elapsed time."""
        parts = [f"{self.sent} sent", f"{self.failed} failed", f"{self.unknown} unknown"]
        if self.already_sent or self.already_unknown:
            parts.append(f"{self.already_sent + self.already_unknown} skipped (journal)")
        if self.duplicates:
            parts.append(f"{self.duplicates} duplicates ignored")
        quota = f" of {self.quota_text}" if self.quota else ""
        return f"{', '.join(parts)}; {self.rate:.1f}/s{quota} over {self.elapsed:.1f} s"


class FanoutAborted(RongCloudError):
    """A fan-out stopped because an error concerns the whole app (wrong key or secret,
    app locked, service not enabled, shared limiter down): every further request would fail.

    `report` is the partial report; the cause is chained (`__cause__`). Targets not yet
    taken from the input have no outcome; re-run with the same journal after fixing it.
    """

    def __init__(self, report: FanoutReport, cause: BaseException) -> None:
        super().__init__(f"fan-out stopped after {report.settled} targets: {cause}")
        self.report = report
