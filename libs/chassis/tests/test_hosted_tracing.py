"""In the in-process host every hosted service's spans carry its own service name
(`chassis.hosted_tracing`), not the host's `in-process`: through the wrapper the host puts
around each app, as a request or an in-process call reaches it."""

from __future__ import annotations

import asyncio
import contextvars
from types import SimpleNamespace
from typing import Any, cast

import pytest
from chassis import tracing
from chassis.host import logged_as
from chassis.hosted_tracing import HostedProviders, serve_as
from chassis.settings import ServiceSettings
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


@pytest.fixture
def exporter(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    """The chassis's spans go through a HostedProviders of this test, every one kept."""
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_always_on")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "in-process")  # a hosted service's name wins
    spans = InMemorySpanExporter()

    def make(service: str) -> TracerProvider:
        provider = tracing.new_provider(service, "in-process", hosted=True)
        provider.add_span_processor(SimpleSpanProcessor(spans))
        return provider

    host = tracing.new_provider("in-process", "in-process")
    host.add_span_processor(SimpleSpanProcessor(spans))
    monkeypatch.setattr(tracing, "_tracer", HostedProviders(host, make).get_tracer("chassis"))
    return spans


async def _route(scope: Any, receive: Any, send: Any) -> None:
    """An app's request: its server span, and a call it makes."""
    span, token = tracing.start_server_span("GET", {})
    with tracing.client_span("currency", "GET"):
        pass
    tracing.end_server_span(span, token, 200)


def _hosted(service: str) -> Any:
    settings = cast(ServiceSettings, SimpleNamespace(service_name=service, version="1"))
    return logged_as(_route, settings)


def test_each_hosted_service_names_its_own_spans(exporter: InMemorySpanExporter) -> None:
    async def requests() -> None:
        # As the host calls them: each in a context of its own (in-process calls: empty).
        for service in ("catalog", "cart"):
            await asyncio.create_task(
                _hosted(service)({}, None, None), context=contextvars.Context()
            )

    asyncio.run(requests())
    named = [
        (span.resource.attributes["service.name"], span.name)
        for span in exporter.get_finished_spans()
    ]
    assert named == [
        ("catalog", "GET currency"),
        ("catalog", "GET"),
        ("cart", "GET currency"),
        ("cart", "GET"),
    ]


def test_outside_any_service_the_host_names_the_span(exporter: InMemorySpanExporter) -> None:
    with tracing.span("start-up"):
        pass

    def as_catalog() -> None:
        serve_as("catalog")
        with tracing.span("warm"):
            pass

    contextvars.copy_context().run(as_catalog)
    with tracing.span("after"):  # the service's context did not leak out
        pass
    assert [
        (span.resource.attributes["service.name"], span.name)
        for span in exporter.get_finished_spans()
    ] == [("in-process", "start-up"), ("catalog", "warm"), ("in-process", "after")]
