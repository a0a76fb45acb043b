"""Fan-out: one message to any number of groups or chatrooms, every target accounted for.

```
targets -> Intake (validate, drop repeats and settled, pack) -> bounded stream of packs
        -> dispatcher (at most `concurrency` requests in flight) -> send(request) each
        -> outcomes -> report counts, kept results, journal line, progress
```

The engine takes the client's `send(PreparedRequest)` (quota wait, failover, decoding,
429 retries) and never imports the client. A cancel stops the intake, gives requests in
flight `grace` seconds to settle (shielded), records the rest as unknown and re-raises.
"""

from __future__ import annotations

from collections.abc import Generator, Sized
from typing import Any

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .._exceptions import InvalidRequestError
from .._limit.protocol import Quota
from .._observe.fanout import FanoutRecord
from .._observe.telemetry import Telemetry
from .._request import Template
from .concurrency import Concurrency
from .delivery import Delivery, Send
from .intake import Intake, Targets
from .journal import fingerprint
from .ledger import Ledger
from .options import FANOUT_QUEUED_PACKS, FanoutOptions
from .outcomes import is_fatal
from .packing import Packer, pack_cycle
from .report import FanoutAborted, FanoutReport
from .seen import DigestSet
from .store import journal_for

__all__ = ["Fanout"]


class _Batch:
    """One pack on its way; compared by identity (it borrows a concurrency slot)."""

    def __init__(self, targets: list[str]) -> None:
        self.targets = targets


class Fanout:
    """A fan-out, run by awaiting it once: `report = await fanout`.

    `send`: the client's send (quota, failover, retries); `quota`: the quota it keeps to
    (None: unlimited), which sizes the packs and the concurrency.

    `report` is live while it runs and stays readable after a cancel or an error.
    """

    # Set up by `_open` when the run starts (they need a running event loop).
    _ledger: Ledger
    _intake: Intake
    _delivery: Delivery
    _slots: anyio.CapacityLimiter
    _intake_scope: anyio.CancelScope
    _record: FanoutRecord

    def __init__(
        self,
        send: Send,
        template: Template,
        targets: Targets,
        *,
        quota: Quota | None,
        options: FanoutOptions,
        telemetry: Telemetry | None = None,
    ) -> None:
        if options.pack_size < 1:
            raise InvalidRequestError("pack_size", "must be at least 1")
        if options.concurrency is not None and options.concurrency < 1:
            raise InvalidRequestError("concurrency", "must be at least 1")
        self._send, self._template, self._targets = send, template, targets
        self._options = options
        self._telemetry = telemetry or Telemetry()
        total = options.total if options.total is not None else _length(targets)
        self._journal = journal_for(options.journal)
        description = None if self._journal is None else self._journal.description
        limit = None if quota is None else quota.limit
        self.report = FanoutReport(
            api=template.api,
            quota=limit,
            window=1.0 if quota is None else quota.window,
            total=total,
            journal=description,
        )
        largest = min(options.pack_size, template.max_targets or options.pack_size)
        self._cycle = pack_cycle(largest, limit)
        self._concurrency = Concurrency(
            quota=limit,
            period=len(self._cycle),
            window=1.0 if quota is None else quota.window + quota.margin,
        )
        self._unstarted: set[_Batch] = set()
        self._active = 0
        self._idle: anyio.Event | None = None
        self._error: Exception | None = None
        self._started = False

    def __await__(self) -> Generator[Any, None, FanoutReport]:
        return self.run().__await__()

    async def run(self) -> FanoutReport:
        """Send to every target; returns the final report (also `self.report`).

        Raises `FanoutAborted` when an error concerns the whole app, re-raises an error of
        the targets' iterable once what was taken is settled, and re-raises a cancellation.
        """
        if self._started:
            raise RuntimeError("a fan-out runs once; create a new one to run again")
        self._started = True
        self._record = FanoutRecord(self._telemetry, self.report, self._options.on_progress)
        try:
            report = await self._run_once()
        except BaseException as exc:
            self._record.finished(exc)
            raise
        self._record.finished(None)
        return report

    async def _run_once(self) -> FanoutReport:
        await self._open()
        try:
            await self._run()
        except BaseException as exc:
            self.report.cancelled = not isinstance(exc, Exception)
            raise
        finally:
            self._ledger.abandon([t for batch in self._unstarted for t in batch.targets])
            with anyio.CancelScope(shield=True):  # what was settled is recorded, cancelled or not
                await self._ledger.close()
        return self._result()

    async def _open(self) -> None:
        """Open the journal (what earlier runs settled); set up the parts."""
        options, journal, settled = self._options, self._journal, None
        self._slots = anyio.CapacityLimiter(options.concurrency or self._concurrency.limit)
        self._intake_scope = anyio.CancelScope()
        if journal is not None:
            api, message = self._template.api, fingerprint(self._template)
            settled = await journal.open(api, message, resend_unknown=options.resend_unknown)
        self._ledger = ledger = Ledger(
            self.report,
            keep=options.keep_results,
            journal=journal,
            on_progress=self._record.progress,
        )
        self._intake = Intake(
            self._targets,
            Packer(self._cycle),
            field=self._template.target_field,
            report=self.report,
            reject=ledger.reject,
            seen=DigestSet() if options.dedupe else None,
            settled=None if settled is None or settled.empty else settled,
        )
        self._delivery = Delivery(
            self._send,
            self._template,
            grace=options.grace,
            on_error=self._fail,
            on_sending=ledger.sending,
        )

    async def _run(self) -> None:
        packs_in, packs_out = anyio.create_memory_object_stream[list[str]](FANOUT_QUEUED_PACKS)
        try:
            async with anyio.create_task_group() as batches:
                batches.start_soon(self._ledger.tick, self._options.progress_interval)
                if self._journal is not None:  # its lease, renewed while requests may leave
                    batches.start_soon(self._journal.keep, self._fail)
                try:
                    with self._intake_scope:
                        async with anyio.create_task_group() as reading:
                            reading.start_soon(self._read, packs_in)
                            await self._dispatch(packs_out, batches)
                    await self._wait_idle()
                except BaseException:
                    self._delivery.begin_grace()
                    raise
                batches.cancel_scope.cancel()  # every batch settled: only the ticker is left
        finally:
            self._ledger.abandon([*_drain(packs_out), *self._intake.leftovers()])
            packs_out.close()
            packs_in.close()

    async def _read(self, packs: MemoryObjectSendStream[list[str]]) -> None:
        try:
            await self._intake.run(packs)
        except Exception as exc:  # the caller's iterable failed: raised once the rest settled
            self._remember(exc)

    async def _dispatch(
        self, packs: MemoryObjectReceiveStream[list[str]], batches: TaskGroup
    ) -> None:
        async for pack in packs:
            self._intake.handed_over(pack)
            batch = _Batch(pack)
            self._unstarted.add(batch)  # abandoned at the end if it never gets to start
            await self._slots.acquire_on_behalf_of(batch)
            self._active += 1
            batches.start_soon(self._send_batch, batch)

    async def _wait_idle(self) -> None:
        while self._active:
            self._idle = anyio.Event()
            await self._idle.wait()

    async def _send_batch(self, batch: _Batch) -> None:
        try:
            self._unstarted.discard(batch)
            stopping = self._delivery.grace_deadline is not None or self._intake_scope.cancel_called
            if stopping:  # no new request goes out once the run is stopping
                self._ledger.abandon(batch.targets)
                return
            wait = self._concurrency.dispatched(anyio.current_time())
            outcomes, duration = await self._delivery.deliver(batch.targets)
            self._ledger.settle(outcomes)
            if duration is not None:
                self._observe(duration, wait)
        finally:
            self._slots.release_on_behalf_of(batch)
            self._active -= 1
            if not self._active and self._idle is not None:
                self._idle.set()

    def stop_now(self) -> None:
        """Stop at once (a second Ctrl-C): requests in flight are no longer waited for and
        stay unknown. Call it after cancelling the run; a no-op before the run started."""
        if self._started and hasattr(self, "_delivery"):
            self._intake_scope.cancel()
            self._delivery.begin_grace(0)

    def _observe(self, duration: float, wait: float) -> None:
        limit = self._concurrency.observe(duration, wait)
        if self._options.concurrency is None and limit != self._slots.total_tokens:
            self._slots.total_tokens = limit

    def _remember(self, exc: Exception) -> None:
        """Keep the first error that ends the run early, to raise once everything settled."""
        if self._error is None:
            self._error = self.report.error = exc

    def _fail(self, exc: Exception) -> None:
        """A request failed in a way no later request can escape: stop taking targets."""
        self._remember(exc)
        self._intake_scope.cancel()

    def _result(self) -> FanoutReport:
        error = self._error
        if error is None:
            return self.report
        if is_fatal(error):
            raise FanoutAborted(self.report, error) from error
        raise error


def _drain(packs: MemoryObjectReceiveStream[list[str]]) -> list[str]:
    """Targets of the packs still queued (nothing reads them any more)."""
    left: list[str] = []
    while True:
        try:
            left.extend(packs.receive_nowait())
        except (anyio.WouldBlock, anyio.EndOfStream):
            return left


def _length(targets: Targets) -> int | None:
    return len(targets) if isinstance(targets, Sized) else None
