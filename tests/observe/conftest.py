"""An OpenTelemetry SDK recording to memory, handed to the client (never set globally, so
no test sees another's data and the global providers stay unset)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    InMemoryMetricReader,
    NumberDataPoint,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

Point = tuple[dict[str, Any], float]


class Otel:
    """The providers to pass to `RongCloud`, and what reached them."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    @property
    def providers(self) -> dict[str, Any]:
        return {"tracer_provider": self.tracer_provider, "meter_provider": self.meter_provider}

    def spans(self, name: str | None = None) -> list[ReadableSpan]:
        found = self.exporter.get_finished_spans()
        return [span for span in found if name is None or span.name == name]

    def metrics(self) -> dict[str, list[Point]]:
        """Each metric's data points: (attributes, value), a histogram's value its count."""
        found: dict[str, list[Point]] = {}
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.data.data_points:
                        if isinstance(point, HistogramDataPoint):
                            value: float = point.count
                        elif isinstance(point, NumberDataPoint):
                            value = point.value
                        else:  # rongpub makes no exponential histograms
                            raise AssertionError(point)
                        found.setdefault(metric.name, []).append(
                            (dict(point.attributes or {}), value)
                        )
        return found

    def total(self, name: str, **attributes: Any) -> float:
        """The sum of a metric's points whose attributes include `attributes`."""
        return sum(
            value
            for point, value in self.metrics().get(name, [])
            if attributes.items() <= point.items()
        )

    def histogram_sum(self, name: str) -> float:
        """The sum of every value a histogram recorded."""
        data = self.reader.get_metrics_data()
        return sum(
            point.sum
            for resource in (data.resource_metrics if data is not None else ())
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
            if isinstance(point, HistogramDataPoint)
        )

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


@pytest.fixture
def otel() -> Iterator[Otel]:
    recorder = Otel()
    yield recorder
    recorder.shutdown()
