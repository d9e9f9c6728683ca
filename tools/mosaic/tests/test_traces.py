"""The runner's trace store lists a trace once its root has come: each process exports its
spans on its own and a request's span ends last, so before then a product page's trace
looked rooted in catalog, or like a lone `GETEX` of the frontend's."""

from __future__ import annotations

from collections.abc import Sequence

from mosaic.traces import SETTLE_SECONDS, TraceStore
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind


def traced(service: str) -> tuple[trace.Tracer, InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return provider.get_tracer("test"), spans


def export(spans: Sequence[ReadableSpan]) -> bytes:
    encoded: bytes = encode_spans(spans).SerializeToString()
    return encoded


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def a_product_page() -> tuple[list[ReadableSpan], list[ReadableSpan], list[ReadableSpan]]:
    """The frontend's request span, its GETEX, and catalog's span of the call it made."""
    frontend, frontend_spans = traced("frontend")
    catalog, catalog_spans = traced("catalog")
    with frontend.start_as_current_span("GET /product/{product_id}", kind=SpanKind.SERVER):
        with frontend.start_as_current_span("GETEX", kind=SpanKind.CLIENT):
            pass
        with catalog.start_as_current_span("GET /v1/products/{product_id}", kind=SpanKind.SERVER):
            pass
    getex, root = frontend_spans.get_finished_spans()
    return [getex], list(catalog_spans.get_finished_spans()), [root]


def listed(store: TraceStore) -> list[tuple[str, str, int]]:
    return [(t["service"], t["name"], t["spans"]) for t in store.recent(10)]


def test_a_trace_is_listed_once_its_root_has_come() -> None:
    store = TraceStore(clock=Clock())
    getex, in_catalog, root = a_product_page()
    store.add_export(export(getex))  # the frontend's first export: its GETEX, ended first
    store.add_export(export(in_catalog))
    assert listed(store) == []
    store.add_export(export(root))
    assert listed(store) == [("frontend", "GET /product/{product_id}", 3)]


def test_a_trace_rooted_outside_the_shop_is_listed_once_settled() -> None:
    clock = Clock()
    store = TraceStore(clock=clock)
    caller, _ = traced("outside")
    frontend, spans = traced("frontend")
    with (
        caller.start_as_current_span("GET /"),
        frontend.start_as_current_span("GET /", kind=SpanKind.SERVER),
    ):
        pass
    store.add_export(export(spans.get_finished_spans()))  # its parent is not ours
    clock.now += SETTLE_SECONDS - 1
    assert listed(store) == []
    clock.now += 1
    assert listed(store) == [("frontend", "GET /", 1)]
