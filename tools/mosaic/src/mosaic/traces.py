"""The runner's trace store: the spans every process of `mosaic up` exports (OTLP/HTTP,
protobuf), kept in memory by trace, the most recent traces only.

Bounded so a long session cannot grow the runner without end: `MAX_TRACES` traces (the
oldest, by its latest span, goes first) of at most `MAX_SPANS_PER_TRACE` spans each. A
checkout is about 60 spans; 500 of them is some 30,000 spans, a few tens of MB at most.
Decoded with `opentelemetry-proto`, the same messages the SDK's exporter encodes.

A trace is listed once its root span is here. Each process exports its spans on its own
(batched, about a second apart), and a request's span ends after every span below it, so
the root is the last to arrive: listed before then, a product page's trace showed up
rooted in catalog, or as a lone `GETEX` of the frontend's, until the frontend's own span
came. A trace whose root is not ours (its first span continued a caller's `traceparent`
from outside the shop) never gets one: it is listed once no span has come for
`SETTLE_SECONDS`.
"""

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

MAX_TRACES = 500
MAX_SPANS_PER_TRACE = 2000
SETTLE_SECONDS = 10.0  # well past the processes' export delay (OTEL_BSP_SCHEDULE_DELAY, 1 s)
_KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
_STATUSES = {0: "unset", 1: "ok", 2: "error"}


@dataclass(frozen=True, slots=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    service: str
    kind: str
    start_ns: int
    end_ns: int
    status: str
    attributes: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_id": self.parent_id,
            "name": self.name,
            "service": self.service,
            "kind": self.kind,
            "start": self.start_ns / 1e9,  # epoch seconds
            "duration_ms": round((self.end_ns - self.start_ns) / 1e6, 3),
            "status": self.status,
            "attributes": self.attributes,
        }


class TraceStore:
    def __init__(
        self, max_traces: int = MAX_TRACES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_traces = max_traces
        self.clock = clock
        self._traces: OrderedDict[str, list[Span]] = OrderedDict()
        self._last_arrival: dict[str, float] = {}

    def add_export(self, body: bytes) -> int:
        """Keep the spans of one OTLP export request; how many. Raises ValueError when
        the body is not one."""
        request = ExportTraceServiceRequest()
        try:
            request.ParseFromString(body)
        except Exception as error:  # protobuf's DecodeError, whatever its module
            raise ValueError(f"not an OTLP trace export: {error}") from None
        count = 0
        for resource_spans in request.resource_spans:
            service = str(_attributes(resource_spans.resource.attributes).get("service.name", ""))
            for scope_spans in resource_spans.scope_spans:
                for raw in scope_spans.spans:
                    self._add(_span(raw, service))
                    count += 1
        return count

    def _add(self, span: Span) -> None:
        spans = self._traces.pop(span.trace_id, [])
        if len(spans) < MAX_SPANS_PER_TRACE:
            spans.append(span)
        self._traces[span.trace_id] = spans  # now the most recent
        self._last_arrival[span.trace_id] = self.clock()
        while len(self._traces) > self.max_traces:
            oldest, _ = self._traces.popitem(last=False)
            del self._last_arrival[oldest]

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """The latest traces first: id, root span's name and service, start, duration,
        span count, services, whether any span failed."""
        return list(islice(self.summaries(), max(limit, 0)))

    def summaries(self) -> Iterator[dict[str, Any]]:
        """`recent`'s summaries of the traces whose root has come (see the module's
        docstring), each made only when asked for (no trace may be added meanwhile)."""
        settled = self.clock() - SETTLE_SECONDS
        return (
            self.summary(trace_id)
            for trace_id in reversed(self._traces)
            if self._last_arrival[trace_id] <= settled
            or any(s.parent_id is None for s in self._traces[trace_id])
        )

    def summary(self, trace_id: str) -> dict[str, Any]:
        spans = self._traces[trace_id]
        ids = {s.span_id for s in spans}
        root = min(
            (s for s in spans if s.parent_id is None or s.parent_id not in ids),
            key=lambda s: s.start_ns,
        )
        start, end = min(s.start_ns for s in spans), max(s.end_ns for s in spans)
        return {
            "trace_id": trace_id,
            "name": root.name,
            "service": root.service,
            "start": start / 1e9,
            "duration_ms": round((end - start) / 1e6, 3),
            "spans": len(spans),
            "services": sorted({s.service for s in spans}),
            "error": any(s.status == "error" for s in spans),
        }

    def spans(self, trace_id: str) -> list[dict[str, Any]] | None:
        found = self._traces.get(trace_id)
        if found is None:
            return None
        return [s.as_json() for s in sorted(found, key=lambda s: s.start_ns)]


def _span(raw: Any, service: str) -> Span:
    return Span(
        trace_id=raw.trace_id.hex(),
        span_id=raw.span_id.hex(),
        parent_id=raw.parent_span_id.hex() or None,
        name=raw.name,
        service=service,
        kind=_KINDS.get(raw.kind, "unspecified"),
        start_ns=raw.start_time_unix_nano,
        end_ns=raw.end_time_unix_nano,
        status=_STATUSES.get(raw.status.code, "unset"),
        attributes=_attributes(raw.attributes),
    )


def _attributes(pairs: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for pair in pairs:
        assert isinstance(pair, KeyValue)
        found[pair.key] = _value(pair.value)
    return found


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if which == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, which) if which else None
