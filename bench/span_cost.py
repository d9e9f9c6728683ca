"""What one span costs in the OpenTelemetry SDK, piece by piece (issue 14 item 7).

    .venv/bin/python bench/span_cost.py [--spans 20000]

CPU per client span with two attributes (and a third set later, as `ServiceClient` sets
the status): not sampled at the root; recorded with no processor; through the batch
processor to an exporter that keeps them; the same with OTLP protobuf encoding (what the
OTLP/HTTP exporter does to a batch before it posts it; the bytes are dropped here); and
the encoding alone. Process time, so the batch processor's thread is counted.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
from opentelemetry.trace import SpanKind


class Keep(SpanExporter):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


class Encode(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        encode_spans(spans).SerializeToString()
        return SpanExportResult.SUCCESS


def per_span_us(provider: TracerProvider, count: int) -> float:
    tracer = provider.get_tracer("bench")
    attributes = {"http.request.method": "GET", "server.address": "catalog"}
    started = time.process_time()
    for _ in range(count):
        with tracer.start_as_current_span(
            "GET catalog", kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
            span.set_attribute("http.response.status_code", 200)
    provider.shutdown()  # the last batches exported, and counted
    return (time.process_time() - started) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]) if __doc__ else None,
    )
    parser.add_argument("--spans", type=int, default=20000, help="per measurement")
    count = parser.parse_args().spans

    def batched(exporter: SpanExporter) -> TracerProvider:
        provider = TracerProvider()
        # A queue that holds every span: a full one drops spans, and their cost with them.
        provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=count))
        return provider

    for _ in range(2):  # the second pass is the warm one
        unsampled = per_span_us(TracerProvider(sampler=ParentBased(ALWAYS_OFF)), count)
        recorded = per_span_us(TracerProvider(), count)
        kept = per_span_us(batched(Keep()), count)
        encoded = per_span_us(batched(Encode()), count)
    keep = Keep()
    per_span_us(batched(keep), min(count, 512))
    started = time.process_time()
    for _ in range(20):
        encode_spans(keep.spans).SerializeToString()
    encoding = (time.process_time() - started) / 20 / len(keep.spans) * 1e6
    print(f"not sampled (root):                    {unsampled:6.1f} µs/span")
    print(f"recorded, no processor:                {recorded:6.1f} µs/span")
    print(f"recorded, batch processor:             {kept:6.1f} µs/span")
    print(f"recorded, batch processor, OTLP bytes: {encoded:6.1f} µs/span")
    print(f"OTLP protobuf encoding alone:          {encoding:6.1f} µs/span")


if __name__ == "__main__":
    main()
