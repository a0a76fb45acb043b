"""The record of one publish call: an OpenTelemetry span and metrics, and log lines.

`Telemetry` (one per client) makes the OpenTelemetry instruments when opentelemetry-api can
be imported; without it a record only logs. The sender starts a `SendRecord` per call with
`Telemetry.send`, feeds it what happens (quota waits, failed attempts, retries, failovers)
and ends it with exactly one of `sent` / `failed`. Invariants: nothing on the happy path is
logged above DEBUG; no metric attribute holds a target id; nothing holds a header (the
signature), so nothing holds a secret. Rationale: docs/guides/observability.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import httpx

from .._exceptions import DeliveryUnknownError, RateLimitedError, RongCloudError
from .._request import PreparedRequest
from .._response import PublishResult

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

    from .instruments import Instruments

__all__ = ["SendRecord", "Tally", "Telemetry"]

_log = logging.getLogger("rongpub.send")
Attributes = dict[str, Any]


@dataclass
class Tally:
    """What a client's calls went through, counted in the process (for the CLI's summary).

    `quota_wait`: seconds waited for quota, summed over `quota_waits` attempts;
    `rate_limited`: 429/1008 answers; `retries` and `failovers`: as the metrics of the same
    names."""

    quota_wait: float = 0.0
    quota_waits: int = 0
    rate_limited: int = 0
    retries: int = 0
    failovers: int = 0


class Telemetry:
    """Where one client's records go: `tracer_provider` / `meter_provider` (None: the global
    ones), when opentelemetry-api is installed; log records in any case."""

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        self.instruments = _load(tracer_provider, meter_provider)
        self._global = tracer_provider is None and meter_provider is None
        self.tally = Tally()
        self._servers: dict[str, Attributes] = {}
        self._metric_attributes: dict[tuple[tuple[str, Any], ...], Attributes] = {}
        self._durations: dict[tuple[str, str, str | None], Attributes] = {}

    def send(self, request: PreparedRequest, url: str) -> SendRecord:
        """Start the record of sending `request`, first to `url`."""
        instruments = self.instruments
        if instruments is None or (self._global and instruments.no_sdk()):
            return SendRecord(self, request, url)
        return _TracedRecord(self, instruments, request, url)

    def server(self, url: str) -> Attributes:
        """`server.address` and `server.port` of a base URL (parsed once)."""
        found = self._servers.get(url)
        if found is None:
            parsed = httpx.URL(url)
            found = {"server.address": parsed.host}
            if parsed.port is not None:
                found["server.port"] = parsed.port
            self._servers[url] = found
        return found

    def duration_attributes(self, api: str, url: str, error: str | None) -> Attributes:
        """The attributes of `messaging.client.operation.duration` (no port: fewer keys
        cost less to record, and the host tells primary from backup)."""
        key = (api, url, error)
        found = self._durations.get(key)
        if found is None:
            found = {**_OPERATION, "messaging.destination.template": api}
            found["server.address"] = self.server(url)["server.address"]
            if error is not None:
                found["error.type"] = error
            self._durations[key] = found
        return found

    def attributes(self, *pairs: tuple[str, Any]) -> Attributes:
        """Metric attributes from (name, value) pairs, one dict per combination, reused."""
        found = self._metric_attributes.get(pairs)
        if found is None:
            found = self._metric_attributes[pairs] = dict(pairs)
        return found


def _load(
    tracer_provider: TracerProvider | None, meter_provider: MeterProvider | None
) -> Instruments | None:
    try:
        from .instruments import Instruments
    except ImportError:  # the `otel` extra is not installed: log records only
        return None
    return Instruments(tracer_provider, meter_provider)


def error_type(exc: BaseException) -> str:
    """The `error.type` of an exception: its class name (few distinct values)."""
    return type(exc).__qualname__


class SendRecord:
    """One publish call, recorded as log lines only (no OpenTelemetry)."""

    __slots__ = ("_request", "_started", "_telemetry", "_timed", "_url", "_waited")

    def __init__(self, telemetry: Telemetry, request: PreparedRequest, url: str) -> None:
        self._telemetry = telemetry
        self._request = request
        self._url = url
        self._timed = self._timing()
        self._started = anyio.current_time() if self._timed else 0.0
        self._waited = 0.0

    def _timing(self) -> bool:
        return _log.isEnabledFor(logging.DEBUG)

    def now(self) -> float:
        """The event loop's clock (seconds)."""
        return anyio.current_time()

    def quota_waited(self, since: float, lane: str | None = None) -> float:
        """An attempt got its quota; it had waited since `since` (a `now()` reading).
        Returns the seconds waited."""
        waited = anyio.current_time() - since
        self._waited += waited
        tally = self._telemetry.tally
        tally.quota_wait += waited
        tally.quota_waits += 1
        return waited

    def attempt_failed(self, url: str, exc: RongCloudError) -> None:
        """An attempt on `url` ended with `exc` (the call may go on)."""
        if isinstance(exc, RateLimitedError):
            self._telemetry.tally.rate_limited += 1
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("%s: attempt on %s failed: %s", self._name, url, exc)

    def retrying(self, exc: RongCloudError, number: int, allowed: int) -> None:
        """The call sends again after `exc`: retry `number` of `allowed`."""
        self._telemetry.tally.retries += 1
        if isinstance(exc, RateLimitedError):
            after = "" if exc.retry_after is None else f", Retry-After {exc.retry_after:g} s"
            _log.warning(
                "%s: rate limited by the server (HTTP %d, code %d%s): the quota pauses, "
                "then retry %d of %d",
                *(self._name, exc.status_code, exc.code, after, number, allowed),
            )
        else:
            _log.warning(
                "%s: %s; sending again (retry %d of %d: it may be delivered twice)",
                *(self._name, exc, number, allowed),
            )

    def failover(self, url: str, to: str, exc: RongCloudError) -> None:
        """After `exc` on `url`, the call's next attempt goes to the host `to`."""
        self._telemetry.tally.failovers += 1
        self._url = to
        _log.warning("%s: %s; failing over from %s to %s", self._name, exc, url, to)

    def sent(self, result: PublishResult) -> None:
        """The server accepted the message."""
        if self._timed and _log.isEnabledFor(logging.DEBUG):
            _log.debug(
                "%s: accepted by %s in %.3f s (quota wait %.3f s)",
                *(self._name, self._url, anyio.current_time() - self._started, self._waited),
            )

    def failed(self, exc: BaseException) -> None:
        """The call ended with `exc` (raised to the caller)."""
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("%s: ended with %s: %s", self._name, error_type(exc), exc)

    @property
    def _name(self) -> str:
        request = self._request
        plural = "" if request.cost == 1 else "s"
        return f"{request.api} request {request.request_id} ({request.cost} target{plural})"


class _TracedRecord(SendRecord):
    """A record that also makes a CLIENT span `send <api>` and records the metrics."""

    __slots__ = ("_api", "_instruments", "_span", "_token")

    def __init__(
        self,
        telemetry: Telemetry,
        instruments: Instruments,
        request: PreparedRequest,
        url: str,
    ) -> None:
        super().__init__(telemetry, request, url)
        self._instruments = instruments
        self._api = ("messaging.destination.template", request.api)
        attributes = _span_attributes(request)
        attributes.update(telemetry.server(url))
        self._span, self._token = instruments.start_send(f"send {request.api}", attributes)

    def _timing(self) -> bool:
        return True

    def quota_waited(self, since: float, lane: str | None = None) -> float:
        waited = super().quota_waited(since, lane)
        pairs = (self._api,) if lane is None else (self._api, ("rongpub.lane", lane))
        self._instruments.quota_wait.record(waited, self._telemetry.attributes(*pairs))
        return waited

    def attempt_failed(self, url: str, exc: RongCloudError) -> None:
        super().attempt_failed(url, exc)
        event: Attributes = {**self._telemetry.server(url), "error.type": error_type(exc)}
        status = getattr(exc, "status_code", None)
        if status is not None:
            event["http.response.status_code"] = status
        code = getattr(exc, "code", None)
        if code is not None:
            event["rongpub.code"] = code
        self._span.add_event("rongpub.attempt_failed", event)
        if isinstance(exc, RateLimitedError):
            self._instruments.rate_limited.add(1, self._telemetry.attributes(_SYSTEM, self._api))

    def retrying(self, exc: RongCloudError, number: int, allowed: int) -> None:
        super().retrying(exc, number, allowed)
        reason = ("error.type", error_type(exc))
        self._instruments.retries.add(1, self._telemetry.attributes(self._api, reason))

    def failover(self, url: str, to: str, exc: RongCloudError) -> None:
        super().failover(url, to, exc)
        self._span.set_attributes(self._telemetry.server(to))
        reason = ("error.type", error_type(exc))
        self._instruments.failovers.add(1, self._telemetry.attributes(self._api, reason))

    def sent(self, result: PublishResult) -> None:
        super().sent(result)
        self._end(None)
        attributes = self._telemetry.attributes(_SYSTEM, self._api)
        self._instruments.sent.add(self._request.cost, attributes)

    def failed(self, exc: BaseException) -> None:
        super().failed(exc)
        kind = error_type(exc)
        span = self._span
        span.set_attribute("error.type", kind)
        code = getattr(exc, "code", None)
        if isinstance(code, int):
            span.set_attribute("rongpub.code", code)
        # Messages of rongpub's errors hold codes, fields and hosts only; others' may not.
        self._instruments.set_error(span, str(exc) if isinstance(exc, RongCloudError) else kind)
        self._end(kind)
        if isinstance(exc, DeliveryUnknownError):
            attributes = self._telemetry.attributes(_SYSTEM, self._api)
            self._instruments.unknown.add(self._request.cost, attributes)

    def _end(self, error: str | None) -> None:
        if self._waited:
            self._span.set_attribute("rongpub.quota.wait", self._waited)
        self._instruments.end(self._span, self._token)
        attributes = self._telemetry.duration_attributes(self._request.api, self._url, error)
        self._instruments.duration.record(anyio.current_time() - self._started, attributes)


_SYSTEM = ("messaging.system", "rongcloud")
_OPERATION = {"messaging.system": "rongcloud", "messaging.operation.name": "send"}


def _span_attributes(request: PreparedRequest) -> Attributes:
    attributes: Attributes = {
        "messaging.system": "rongcloud",
        "messaging.operation.name": "send",
        "messaging.operation.type": "send",
        "rongpub.request_id": request.request_id,
    }
    if request.cost == 1:
        attributes["messaging.destination.name"] = request.targets[0]
    else:  # the conventions: a batch count only on batches
        attributes["messaging.batch.message_count"] = request.cost
    return attributes
