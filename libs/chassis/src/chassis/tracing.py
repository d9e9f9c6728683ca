"""Tracing with OpenTelemetry: the SDK set up from the standard `OTEL_*` variables.

Long because every kind of span the chassis makes starts here (request, call, event, job),
each with the measurement that made it ours rather than an instrumentation's, and they share
one rule for unsampled work (`_context_of`). Which traces are kept is `chassis.sampling`.

One span per request (`start_server_span`, from the request context's middleware), per
outgoing call (`client_span`, ours: see there why), per query (SQLAlchemy's, on each engine) and
per Valkey command (redis-py's). The W3C `traceparent` header carries the context between
services, and the `traceparent` field of a stream entry carries it through an event
(`chassis.events`).

Settings, all standard (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/):
- `OTEL_TRACES_EXPORTER`: `otlp` (OTLP over HTTP, protobuf, to `OTEL_EXPORTER_OTLP_ENDPOINT`
  + `/v1/traces`), `console`, or `none` (the default here: nothing is sent anywhere unless
  asked; `mosaic up` and the deployments ask);
- `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`: as the SDK names them, read in
  `chassis.sampling` (`parentbased_traceidratio` with a ratio is what the deployments set);
- `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`: the resource; the chassis names the
  service and process when they are not set.

Spans leave through the batch processor: the request that made them never waits for the
export, and one export carries many spans.

An unsampled request costs next to nothing (issue 14 item 7, docs/performance.md): its
span is the SDK's non-recording one, and the context it runs in also says "suppress
instrumentation", which the maintained instrumentations (redis, SQLAlchemy) and our own
client spans check first, so no span below it is made, named or given attributes. Its
`traceparent` (flag 00) still goes on to callees and events, so they do not sample it anew.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import Any

from opentelemetry import context as context_api
from opentelemetry import propagate, trace
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import (
    Sampler,
)
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from chassis.sampling import (
    NoOrphanCalls,
    WriteReservoir,
    sampler_from_env,
    writes_per_second_from_env,
)

EXPORTERS = ("otlp", "console", "none")
TRACEPARENT_FIELD = "traceparent"  # in a stream entry, beside the event

_tracer = trace.get_tracer("chassis")
_request_span: ContextVar[Span | None] = ContextVar("request_span", default=None)
_configured = False


def configure_tracing(
    service: str,
    process: str = "web",
    *,
    providers: Callable[[TracerProvider], trace.TracerProvider] | None = None,
) -> None:
    """Install the process's tracer provider and instrumentations, once per process.
    `providers`: what makes the global provider of the process's own (the in-process host's
    `HostedProviders`)."""
    global _configured
    if _configured:
        return
    own = new_provider(service, process)
    trace.set_tracer_provider(providers(own) if providers is not None else own)
    _instrument_libraries()
    _configured = True


def new_provider(service: str, process: str, *, hosted: bool = False) -> TracerProvider:
    """A tracer provider naming `service` and `process` in its resource, its sampler and
    exporter from the `OTEL_*` variables. `hosted`: one of the in-process host's services
    (`chassis.hosted_tracing`), named `service` whatever OTEL_SERVICE_NAME says."""
    exporter = _exporter(os.environ.get("OTEL_TRACES_EXPORTER", "none"))
    attributes = {"service.name": service, "mosaic.process": process}
    resource = Resource.create(attributes)  # OTEL_SERVICE_NAME, when set, wins here
    if hosted:
        resource = resource.merge(Resource({"service.name": service}))
    sampler: Sampler = NoOrphanCalls(sampler_from_env())
    writes_per_second = writes_per_second_from_env()
    if writes_per_second:
        sampler = WriteReservoir(sampler, writes_per_second)
    provider = TracerProvider(resource=resource, sampler=sampler)
    if exporter is not None:
        # The console's output is for a person watching: each span when it ends.
        console = isinstance(exporter, ConsoleSpanExporter)
        processor = SimpleSpanProcessor(exporter) if console else BatchSpanProcessor(exporter)
        provider.add_span_processor(processor)
    return provider


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


def start_server_span(method: str, headers: Mapping[str, str]) -> tuple[Span, object]:
    """The request's span, continuing the caller's trace (`traceparent`), made current;
    end it with `end_server_span`. Named by the method only until routing has chosen the
    route (`name_server_span`): the raw path may hold a secret.

    Ours rather than opentelemetry-instrumentation-asgi's middleware: measured on catalog's
    product route (cProfile, `bench/profile_route.py`), that one took a quarter of the
    request's CPU, sampled or not: it decodes every header and sets about ten attributes
    (raw path and URL among them, which we then had to overwrite), and wraps every ASGI
    message. This is one extract, one span and four attributes, and no attribute when
    unsampled.
    """
    parent = propagate.extract(headers) if TRACEPARENT_FIELD in headers else None
    span = _tracer.start_span(method, context=parent, kind=SpanKind.SERVER)
    _request_span.set(span)  # the caller's identity goes on it, whatever span is current then
    if span.is_recording():
        span.set_attributes(server_attributes(method))
    return span, context_api.attach(_context_of(span))


def server_attributes(method: str) -> dict[str, str]:
    """A request span's attributes at its start; asked for only when it is recorded."""
    return {"http.request.method": method}


def _context_of(span: Span) -> Context:
    """The context to run a span's work in. An unsampled span's also suppresses the
    instrumentations below it (see the module's docstring): none of them makes a span."""
    current = trace.set_span_in_context(span)
    recording = span.is_recording()
    if recording == sampled():
        return current
    # A recorded span inside an unsampled one (a write kept by WriteReservoir, in-process) lifts it.
    return context_api.set_value(_SUPPRESS_INSTRUMENTATION_KEY, not recording, current)


def sampled() -> bool:
    """False inside an unsampled trace: nothing below needs a span or its attributes."""
    return not context_api.get_value(_SUPPRESS_INSTRUMENTATION_KEY)


@contextmanager
def _current(span: Span) -> Iterator[Span]:
    """`start_as_current_span`'s work for a span already started, in `_context_of` it."""
    token = context_api.attach(_context_of(span))
    try:
        yield span
    except BaseException as error:
        if span.is_recording():
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        raise
    finally:
        span.end()
        context_api.detach(token)


def end_server_span(span: Span, token: object, status: int) -> None:
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
    span.end()
    context_api.detach(token)  # type: ignore[arg-type]


def name_server_span(method: str, route: str, status: int) -> None:
    """Name the request's span by its route template; its status."""
    span = trace.get_current_span()
    if not span.is_recording():
        return
    span.update_name(f"{method} {route}")
    span.set_attributes({"http.route": route, "http.response.status_code": status})


def set_caller(identity: str) -> None:
    """The authenticated caller (a service or a user's subject) on the request's span."""
    span = _request_span.get() or trace.get_current_span()
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

    Inside an unsampled trace there is no span: the caller's (unsampled) context is what
    `inject` passes on, which is all the callee needs to not sample it either.
    """
    if not sampled():
        yield trace.get_current_span()
        return
    with _tracer.start_as_current_span(
        f"{method} {callee}",
        kind=SpanKind.CLIENT,
        attributes={"http.request.method": method, "server.address": callee},
    ) as span:
        yield span


@contextmanager
def job_span(job: str) -> Iterator[Span]:
    """A scheduled job's run (`chassis.job_runs`): the root of a trace of its own, made
    current, so the queries and calls it makes are its children rather than orphans
    (`NoOrphanCalls` drops those). Sampled at the ratio, like a page view."""
    span = _tracer.start_span(f"job {job}", context=Context(), kind=SpanKind.INTERNAL)
    if span.is_recording():
        span.set_attribute("mosaic.job", job)
    with _current(span):
        yield span


def consumer_span(
    name: str, traceparent: str | None, attributes: Mapping[str, Any]
) -> AbstractContextManager[Span]:
    """The handling of one event, a child of the span that wrote it (when it carried one)."""
    return _event_span(name, traceparent, attributes, SpanKind.CONSUMER)


def producer_span(
    name: str, traceparent: str | None, attributes: Mapping[str, Any]
) -> AbstractContextManager[Span]:
    """The relay's publishing of one event, in the trace of the work that wrote it."""
    return _event_span(name, traceparent, attributes, SpanKind.PRODUCER)


@contextmanager
def _event_span(
    name: str, traceparent: str | None, attributes: Mapping[str, Any], kind: SpanKind
) -> Iterator[Span]:
    parent = extract({TRACEPARENT_FIELD: traceparent}) if traceparent else None
    span = _tracer.start_span(name, context=parent, kind=kind)
    if span.is_recording():
        span.set_attributes(attributes)
    with _current(span):
        yield span
