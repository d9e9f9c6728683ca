"""Which traces are kept: the sampler the `OTEL_TRACES_SAMPLER` variables ask for, and the
chassis's two rules on top of it (`NoOrphanCalls`, `WriteReservoir`). `chassis.tracing`
installs them; docs/architecture.md, "Sampling", says why each exists."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind, TraceState
from opentelemetry.util.types import Attributes

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


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


class _Overriding(Sampler):
    """A sampler that decides some spans itself (`_decide`) and leaves the rest to `inner`."""

    def __init__(self, inner: Sampler) -> None:
        self.inner = inner

    def _decide(self, parent: trace.SpanContext, name: str, kind: SpanKind | None) -> bool | None:
        """True to record, False to drop, None for the inner sampler to decide."""
        raise NotImplementedError

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
        decided = self._decide(parent, name, kind)
        if decided is not None:
            return SamplingResult(Decision.RECORD_AND_SAMPLE if decided else Decision.DROP)
        return self.inner.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"{type(self).__name__}{{{self.inner.get_description()}}}"


class NoOrphanCalls(_Overriding):
    """Drops a query, command or call that no request or event started (a client span
    without a parent): the relay's polls, the consumers' blocking reads, readiness pings.
    Thousands of one-span traces a minute that say nothing and crowd out the traces of
    real work. Every other span is the inner sampler's to decide."""

    def _decide(self, parent: trace.SpanContext, name: str, kind: SpanKind | None) -> bool | None:
        return False if kind is SpanKind.CLIENT and not parent.is_valid else None


class WriteReservoir(_Overriding):
    """Keeps the traces that requests changing something start (POST, PUT, PATCH, DELETE
    arriving with no trace of their own), up to `per_second` a second in this process,
    with bursts of up to half a minute's worth (at least 30); past that, and for everything
    else, the inner sampler (the ratio) decides.

    For `mosaic up` (`MOSAIC_TRACE_WRITES_PER_SECOND`, 1 there): a person adding to a cart
    and placing an order is always traced, so a newcomer finds the trace of their own
    order, while a load generator's writes are kept at about one a second plus the ratio.
    Keeping every write cost too much: a checkout's trace is ~100 spans at ~60-140 us of CPU
    each (docs/performance.md, "the price of seeing"). AWS X-Ray's default sampling rule
    has the same shape (a reservoir of one request a second, then a fixed ratio). The
    server span is named by its method when it starts (`start_server_span`), so the name
    says whether it is a write.
    """

    def __init__(self, inner: Sampler, per_second: float) -> None:
        super().__init__(inner)
        self.per_second = per_second
        self.burst = max(30.0, 30 * per_second)
        self._tokens = self.burst
        self._refilled = time.monotonic()
        self._lock = threading.Lock()  # spans may start on more than one thread

    def _decide(self, parent: trace.SpanContext, name: str, kind: SpanKind | None) -> bool | None:
        if kind is not SpanKind.SERVER or name not in WRITES or parent.is_valid:
            return None
        return True if self._take() else None

    def _take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._refilled) * self.per_second)
            self._refilled = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True

    def get_description(self) -> str:
        return f"WriteReservoir{{{self.per_second}/s, {self.inner.get_description()}}}"


def writes_per_second_from_env() -> float:
    """`MOSAIC_TRACE_WRITES_PER_SECOND`: writes kept whatever the ratio (0 or unset: none)."""
    raw = os.environ.get("MOSAIC_TRACE_WRITES_PER_SECOND", "0").strip() or "0"
    try:
        rate = float(raw)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate < float("inf"):
        raise SystemExit(
            f"MOSAIC_TRACE_WRITES_PER_SECOND={raw!r} is not a rate: set it to 0 or more "
            "(writes a second kept whatever the ratio; 0 keeps none)"
        )
    return rate
