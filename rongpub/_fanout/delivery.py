"""Sending one fan-out pack, shielded from a cancel until the grace period runs out.

A cancel must not cut a request off mid-flight without recording it: each request runs in
a shielded scope; `begin_grace` gives every such scope (and any started later) a deadline.
A request still unsettled at its deadline leaves its targets unknown.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

import anyio

from .._exceptions import RongCloudError
from .._request import PreparedRequest, Template
from .._response import PublishResult
from .outcomes import TargetOutcome, is_fatal, not_sent, outcomes_for, unsettled

__all__ = ["Delivery", "Send"]

_QUEUED = "the fan-out stopped while this request waited for quota"


class Send(Protocol):
    """The client's send: quota wait, failover, decoding, 429 retries."""

    def __call__(
        self,
        request: PreparedRequest,
        *,
        on_leaving: Callable[[], Awaitable[None]] | None = None,
    ) -> Awaitable[PublishResult]:
        """Send `request`; await `on_leaving()` before any byte of it can reach the server
        (once per attempt, after the quota wait); an error it raises stops the attempt."""
        ...


class Delivery:
    """Sends packs of `template` with `send`; `on_sending(request)` is called once, when a
    request is about to leave (its quota granted), `on_error(exc)` with an error that ends
    the run (one that concerns the whole app, or one rongpub does not raise)."""

    def __init__(
        self,
        send: Send,
        template: Template,
        *,
        grace: float,
        on_error: Callable[[Exception], None],
        on_sending: Callable[[PreparedRequest], Awaitable[None]],
    ) -> None:
        self._send = send
        self._template = template
        self._grace = grace
        self._on_error = on_error
        self._on_sending = on_sending
        self._shields: set[anyio.CancelScope] = set()
        self.grace_deadline: float | None = None

    def begin_grace(self, grace: float | None = None) -> None:
        """A cancel arrived: requests in flight get `grace` seconds more (default: the
        configured grace; 0 cuts them off now), then are left unknown."""
        deadline = anyio.current_time() + (self._grace if grace is None else grace)
        if self.grace_deadline is not None:
            deadline = min(deadline, self.grace_deadline)
        self.grace_deadline = deadline
        for scope in self._shields:
            scope.deadline = min(scope.deadline, deadline)

    async def deliver(self, targets: list[str]) -> tuple[list[TargetOutcome], float | None]:
        """Send one pack; returns its outcomes and, when it was accepted, its duration (s)."""
        request = self._template.to(targets)
        started = anyio.current_time()
        result: PublishResult | Exception | None = None
        left = False

        async def leaving() -> None:
            nonlocal left
            if not left:  # a later attempt of the same request: its line is written
                await self._on_sending(request)
                left = True

        with anyio.CancelScope(shield=True) as scope:
            if self.grace_deadline is not None:
                scope.deadline = self.grace_deadline
            self._shields.add(scope)
            try:
                result = await self._call(request, leaving)
            finally:
                self._shields.discard(scope)
        if result is None:  # cut off at the grace deadline: unknown only if it had left
            if not left:
                return not_sent(targets, _QUEUED), None
            return unsettled(targets, request.request_id), None
        outcomes = outcomes_for(targets, request.request_id, result)
        accepted = isinstance(result, PublishResult)
        return outcomes, anyio.current_time() - started if accepted else None

    async def _call(
        self, request: PreparedRequest, leaving: Callable[[], Awaitable[None]]
    ) -> PublishResult | Exception:
        try:
            return await self._send(request, on_leaving=leaving)
        except RongCloudError as exc:
            if is_fatal(exc):
                self._on_error(exc)
            return exc
        except Exception as exc:  # not rongpub's (a bug, a custom transport): the targets
            self._on_error(exc)  # stay unknown, and the run stops and re-raises it
            return exc
