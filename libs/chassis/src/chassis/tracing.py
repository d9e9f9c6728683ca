"""Tracing with OpenTelemetry: the SDK set up from the standard `OTEL_*` variables.

One span per request (the ASGI instrumentation, outermost: `server_middleware`), per
outgoing call (`client_span`, ours: see there why), per query (SQLAlchemy's, on each engine) and
per Valkey command (redis-py's). The W3C `traceparent` header carries the context between
services, and the `traceparent` field of a stream entry carries it through an event
(`chassis.events`).

Settings, all standard (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/):
- `OTEL_TRACES_EXPORTER`: `otlp` (OTLP over HTTP, protobuf, to `OTEL_EXPORTER_OTLP_ENDPOINT`
  + `/v1/traces`), `console`, or `none` (the default here: nothing is sent anywhere unless
  asked; `mosaic up` and the deployments ask);
- `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`: read by the SDK itself
  (`parentbased_traceidratio` with a ratio is what the deployments set);
- `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`: the resource; the chassis names the
  service and process when they are not set.

Spans leave through the batch processor: the request that made them never waits for the
export, and one export carries many spans.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, Span, SpanKind, TraceState
from opentelemetry.util.types import Attributes
from starlette.middleware import Middleware

EXPORTERS = ("otlp", "console", "none")
TRACEPARENT_FIELD = "traceparent"  # in a stream entry, beside the event

_tracer = trace.get_tracer("chassis")
_configured = False


def configure_tracing(service: str, process: str = "web") -> None:
    """Install the process's tracer provider and instrumentations, once per process."""
    global _configured
    if _configured:
        return
    exporter = _exporter(os.environ.get("OTEL_TRACES_EXPORTER", "none"))
    attributes = {"service.name": service, "mosaic.process": process}
    if os.environ.get("OTEL_SERVICE_NAME"):
        attributes.pop("service.name")  # Resource.create puts the variable's value in
    provider = TracerProvider(
        resource=Resource.create(attributes), sampler=NoOrphanCalls(sampler_from_env())
    )
    if exporter is not None:
        # The console's output is for a person watching: each span when it ends.
        console = isinstance(exporter, ConsoleSpanExporter)
        processor = SimpleSpanProcessor(exporter) if console else BatchSpanProcessor(exporter)
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    _instrument_libraries()
    _configured = True


def sampler_from_env() -> Sampler:
    """`OTEL_TRACES_SAMPLER` and its `_ARG`, as the specification names them (default:
    `parentbased_always_on`, the SDK's)."""
    name = os.environ.get("OTEL_TRACES_SAMPLER", "parentbased_always_on").strip().lower()
    raw = os.environ.get("OTEL_TRACES_SAMPLER_ARG", "1.0").strip() or "1.0"
    try:
        ratio = float(raw)
    except ValueError:
        ratio = -1.0
    if not 0.0 <= ratio <= 1.0:
        raise SystemExit(f"OTEL_TRACES_SAMPLER_ARG={raw!r} is not a ratio: set it between 0 and 1")
    samplers: dict[str, Sampler] = {
        "always_on": ALWAYS_ON,
        "always_off": ALWAYS_OFF,
        "traceidratio": TraceIdRatioBased(ratio),
        "parentbased_always_on": ParentBased(ALWAYS_ON),
        "parentbased_always_off": ParentBased(ALWAYS_OFF),
        "parentbased_traceidratio": ParentBased(TraceIdRatioBased(ratio)),
    }
    if name not in samplers:
        raise SystemExit(
            f"OTEL_TRACES_SAMPLER={name!r} is not supported: set it to one of {', '.join(samplers)}"
        )
    return samplers[name]


class NoOrphanCalls(Sampler):
    """Drops a query, command or call that no request or event started (a client span
    without a parent): the relay's polls, the consumers' blocking reads, readiness pings.
    Thousands of one-span traces a minute that say nothing and crowd out the traces of
    real work. Every other span is the inner sampler's to decide."""

    def __init__(self, inner: Sampler) -> None:
        self.inner = inner

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        parent = trace.get_current_span(parent_context).get_span_context()
        if kind is SpanKind.CLIENT and not parent.is_valid:
            return SamplingResult(Decision.DROP)
        return self.inner.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"NoOrphanCalls{{{self.inner.get_description()}}}"


def _exporter(name: str) -> SpanExporter | None:
    name = name.strip().lower()
    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()  # its endpoint from OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT
    if name == "console":
        return ConsoleSpanExporter()
    if name in ("none", ""):
        return None
    # A bad setting stops the process with one line, as the chassis's settings do.
    raise SystemExit(
        f"OTEL_TRACES_EXPORTER={name!r} is not supported: set it to one of {', '.join(EXPORTERS)}"
    )


def _instrument_libraries() -> None:
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    RedisInstrumentor().instrument()


def instrument_engine(engine: Any) -> None:
    """A span per query on this SQLAlchemy engine (the async engine's `sync_engine`).

    The maintained instrumentation's own per-engine tracer, not its instrumentor: that one
    instruments once per process (a second database, or one reopened, would go untraced)
    and refuses SQLAlchemy 2.1 by its declared range, though it works with it (checked
    by test_db_tracing.py against a real Postgres). Statements are recorded as written,
    with bound parameters and never their values, so no sanitizing is needed nor paid for.
    """
    from opentelemetry import metrics
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

    tracer = trace.get_tracer("opentelemetry.instrumentation.sqlalchemy")
    # Its pool gauge goes to the no-op meter: metrics are prometheus-client's (issue 14 item 2).
    usage = metrics.get_meter("chassis.db").create_up_down_counter("db.client.connections.usage")
    EngineTracer(tracer, engine, usage, enable_commenter=False)  # type: ignore[no-untyped-call]


def server_middleware() -> Middleware:
    """The ASGI instrumentation: a server span per request, continuing the caller's trace.

    Outermost, just outside the request context, so the request's log lines carry this
    span's trace id. The span is named by the route's template later, in the request
    context's middleware, once routing has chosen it; until then by its method only
    (the raw path may hold a secret).
    """
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return Middleware(
        OpenTelemetryMiddleware,
        default_span_details=_method_only,
        exclude_spans=["receive", "send"],  # a span per ASGI message costs and says nothing
    )


def _method_only(scope: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    return str(scope.get("method", "HTTP")), {}


def name_server_span(method: str, route: str, status: int) -> None:
    """Name the request's span by its route template and replace the raw path in it."""
    span = trace.get_current_span()
    if not span.is_recording():
        return
    span.update_name(f"{method} {route}")
    # The instrumentation recorded the raw path and URL; a guest link's token is in them.
    span.set_attributes(
        {"http.route": route, "http.target": route, "http.url": route, "url.path": route}
    )
    span.set_attribute("http.status_code", status)


def set_caller(identity: str) -> None:
    """The authenticated caller (a service or a user's subject) on the request's span."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute("mosaic.caller", identity)


def current_trace_id() -> str:
    """The current trace's id in 32 hex digits (as logged in `trace_id`); a fresh one when
    no span is current (tracing not set up: the ids still group a request's log lines)."""
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        return format(span_context.trace_id, "032x")
    return secrets.token_hex(16)


def current_traceparent() -> str | None:
    """The current context as a W3C `traceparent`, to keep beside work done later (an
    outbox row); None outside any sampled or unsampled span."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get(TRACEPARENT_FIELD)


@contextmanager
def span(name: str, **attributes: str | int) -> Iterator[Span]:
    """A span of a service's own work (e.g. notifications' e-mail send)."""
    with _tracer.start_as_current_span(name, attributes=attributes) as current:
        yield current


def inject(carrier: MutableMapping[str, str]) -> None:
    """Write the current context (`traceparent`) into headers or a stream entry."""
    propagate.inject(carrier)


def extract(carrier: Mapping[str, str]) -> Context:
    return propagate.extract(carrier)


@contextmanager
def client_span(callee: str, method: str) -> Iterator[Span]:
    """A call to another service (`ServiceClient`), over the network or in this process.

    Ours rather than opentelemetry-instrumentation-aiohttp-client's: that one parsed,
    redacted and copied every request's URL and headers whether or not the trace was
    sampled, ~100 us of CPU per call (cProfile of the frontend's product page, which makes
    three), and never saw a call to an app in this process. No path either: the callee's
    span names the route's template, and a path may hold a token.
    """
    with _tracer.start_as_current_span(
        f"{method} {callee}",
        kind=SpanKind.CLIENT,
        attributes={"http.request.method": method, "server.address": callee},
    ) as span:
        yield span


@contextmanager
def consumer_span(
    name: str, traceparent: str | None, attributes: Mapping[str, Any]
) -> Iterator[Span]:
    """The handling of one event, a child of the span that wrote it (when it carried one)."""
    parent = extract({TRACEPARENT_FIELD: traceparent}) if traceparent else None
    with _tracer.start_as_current_span(
        name, context=parent, kind=SpanKind.CONSUMER, attributes=dict(attributes)
    ) as span:
        yield span


@contextmanager
def producer_span(
    name: str, traceparent: str | None, attributes: Mapping[str, Any]
) -> Iterator[Span]:
    """The relay's publishing of one event, in the trace of the work that wrote it."""
    parent = extract({TRACEPARENT_FIELD: traceparent}) if traceparent else None
    with _tracer.start_as_current_span(
        name, context=parent, kind=SpanKind.PRODUCER, attributes=dict(attributes)
    ) as span:
        yield span
