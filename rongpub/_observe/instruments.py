"""rongpub's OpenTelemetry tracer and metric instruments (imported only when
opentelemetry-api is installed).

Instruments are made once per client from the providers it was given, or from the global
ones: the API's global tracer and meter are proxies that start delegating once the
application sets an SDK, so configuring the SDK after creating the client still works.
No attribute holds a target id (cardinality) or anything from the signed headers.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from opentelemetry import context, metrics, trace

__all__ = ["DURATION_BUCKETS", "Instruments", "no_sdk"]

try:  # what the API hands out until an SDK is set (private: if it moves, assume an SDK)
    from opentelemetry.metrics._internal import _ProxyMeterProvider
except ImportError:  # pragma: no cover
    _ProxyMeterProvider = None  # type: ignore[assignment,misc]

#: Seconds; the messaging semantic conventions' advice for operation durations.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
_SCHEMA = "https://opentelemetry.io/schemas/1.27.0"


def no_sdk() -> bool:
    """Whether no SDK is set as the global tracer and meter providers yet (then a record
    through them would record nothing: it is skipped)."""
    return (
        _ProxyMeterProvider is not None
        and isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
        and isinstance(metrics.get_meter_provider(), _ProxyMeterProvider)
    )


def _version() -> str:
    try:
        return version("rongpub")
    except PackageNotFoundError:  # pragma: no cover (run from a source tree)
        return "0"


class Instruments:
    """The tracer and the metric instruments of one client."""

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None,
        meter_provider: metrics.MeterProvider | None,
    ) -> None:
        name, release = "rongpub", _version()
        self.tracer = trace.get_tracer(name, release, tracer_provider, schema_url=_SCHEMA)
        meter = metrics.get_meter(name, release, meter_provider, schema_url=_SCHEMA)
        self.duration = meter.create_histogram(
            "messaging.client.operation.duration",
            unit="s",
            description="Duration of a publish call, quota wait and retries included",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.sent = meter.create_counter(
            "messaging.client.sent.messages",
            unit="{message}",
            description="Messages the server accepted, one per target",
        )
        self.quota_wait = meter.create_histogram(
            "rongpub.quota.wait",
            unit="s",
            description="Time an attempt waited for the client-side quota",
            explicit_bucket_boundaries_advisory=(0, *DURATION_BUCKETS),
        )
        self.rate_limited = meter.create_counter(
            "rongpub.rate_limited",
            unit="{answer}",
            description="HTTP 429 / code 1008 answers from the server",
        )
        self.retries = meter.create_counter(
            "rongpub.retries", unit="{attempt}", description="Attempts after the first one"
        )
        self.failovers = meter.create_counter(
            "rongpub.failovers",
            unit="{attempt}",
            description="Attempts sent to another host than the one before",
        )
        self.unknown = meter.create_counter(
            "rongpub.unknown_outcomes",
            unit="{message}",
            description="Messages (targets) whose publish call ended with the outcome unknown",
        )
        self.fanout_targets = meter.create_counter(
            "rongpub.fanout.targets",
            unit="{target}",
            description="Fan-out targets settled, by status (sent, failed, unknown)",
        )

    def start_send(self, name: str, attributes: dict[str, Any]) -> tuple[trace.Span, object]:
        """Start a CLIENT span and make it current when it records (an instrumented httpx
        nests under it); the span and the token `end` takes."""
        span = self.tracer.start_span(name, kind=trace.SpanKind.CLIENT, attributes=attributes)
        if not span.is_recording():  # no SDK, or not sampled: nothing would nest under it
            return span, None
        return span, context.attach(trace.set_span_in_context(span))

    @staticmethod
    def end(span: trace.Span, token: object) -> None:
        """End a span `start_send` began, and make the one before it current again."""
        span.end()
        if token is not None:
            context.detach(token)  # type: ignore[arg-type]

    @staticmethod
    def set_error(span: trace.Span, description: str) -> None:
        span.set_status(trace.Status(trace.StatusCode.ERROR, description))

    @staticmethod
    def no_sdk() -> bool:
        """`no_sdk()`, for callers that hold an `Instruments` but not this module."""
        return no_sdk()

    def start_internal(self, name: str, attributes: dict[str, Any]) -> trace.Span:
        """Start an INTERNAL span without making it current (its work's spans stay apart)."""
        return self.tracer.start_span(name, kind=trace.SpanKind.INTERNAL, attributes=attributes)
