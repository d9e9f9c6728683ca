"""The CPU price of tracing per request, in one process: off, and each sampling ratio, with
this tree's `chassis.tracing` and (with --before REF) an older one's, in alternating rounds.

    .venv/bin/python bench/tracing_cost.py [--before REF] [--requests 2000] [--rounds 5] >/dev/null

A chassis app answering over ASGI (no sockets: the app's own cost shows); each request is
a server span and two calls' client spans (as a page's request to catalog makes: the calls
go nowhere, only their spans are made). Spans leave through the batch processor to an
exporter that encodes them as OTLP protobuf and drops the bytes: the export thread's CPU
is the process's, and counted (process time), but no network. "off" is the no-op tracer
that OTEL_SDK_DISABLED=true gives. The machine's noise hits every variant alike within a
round; the figure is the median of the rounds' CPU per request.

The shop-wide figures (`bench/pages.py`, `mosaic bench`) are the target's; this says what
one request's spans cost when the machine is too busy for those to separate the variants.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import httpx
from chassis import ServiceSettings, callers, create_app, sampling, security, tracing
from chassis.testing import ServiceKeys
from fastapi import APIRouter
from metrics_cost import served_cpu_us
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import NoOpTracerProvider, Tracer

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ("start_server_span", "end_server_span", "name_server_span", "client_span", "inject")


class EncodingExporter(SpanExporter):
    """What the OTLP exporter does to a batch before it posts it; the bytes are dropped."""

    exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        encode_spans(spans).SerializeToString()
        EncodingExporter.exported += len(spans)
        return SpanExportResult.SUCCESS


def tracer(ratio: float | None) -> tuple[Tracer, TracerProvider | None]:
    if ratio is None:
        return NoOpTracerProvider().get_tracer("chassis"), None
    sampler = sampling.NoOrphanCalls(ParentBased(TraceIdRatioBased(ratio)))
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(BatchSpanProcessor(EncodingExporter()))
    return provider.get_tracer("chassis"), provider


def older_tracing(ref: str) -> ModuleType:
    """chassis/tracing.py as it was at `ref`, loaded beside this tree's."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{ref}:libs/chassis/src/chassis/tracing.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "tracing_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("tracing_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def use(module: ModuleType, chosen: Tracer) -> None:
    """Route the middleware's and client's tracing calls to `module`, tracing with `chosen`."""
    module.start_server_span.__globals__["_tracer"] = chosen  # the defining module's
    for name in FUNCTIONS:
        setattr(tracing, name, getattr(module, name))
    # The caller's identity goes on the span of the module that started it.
    setattr(security, "set_caller", module.set_caller)  # noqa: B010 (not exported)


async def measure(args: argparse.Namespace) -> tuple[dict[str, list[float]], dict[str, float]]:
    keys = ServiceKeys(Path(tempfile.mkdtemp()), ["tester"])
    os.environ.update(
        MOSAIC_SERVICE="bench", PORT="1", OPS_PORT="2", TRANSPORT_SECURITY="mesh",
        SERVICE_TRUST_DIR=str(keys.trust_dir), LOG_LEVEL="warning",
    )  # fmt: skip
    router = APIRouter(prefix="/v1", dependencies=[callers("tester")])

    @router.get("/products/{product_id}")
    async def product(product_id: str) -> dict[str, str]:
        for callee in ("currency", "recommendations"):
            with tracing.client_span(callee, "GET"):
                tracing.inject({})
        return {"id": product_id}

    app = create_app(ServiceSettings(), routers=[router])
    headers = keys.headers("tester", "bench")
    # This tree's functions, kept apart: `use` writes an older module's into chassis.tracing.
    this = ModuleType("tracing_after")
    this.__dict__.update({name: getattr(tracing, name) for name in (*FUNCTIONS, "set_caller")})
    modules = {"after": this}
    if args.before:
        modules["before"] = older_tracing(args.before)
    variants: list[tuple[str, ModuleType, float | None]] = [("off", this, None)]
    for sampled in (0.0, 0.1, 1.0):
        variants += [(f"{label} {sampled}", module, sampled) for label, module in modules.items()]
    found: dict[str, list[float]] = {label: [] for label, _, _ in variants}
    spans: dict[str, float] = {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://b"
    ) as http:
        for number in range(args.rounds):  # the order alternates too
            for label, module, ratio in variants if number % 2 == 0 else variants[::-1]:
                chosen, provider = tracer(ratio)
                use(module, chosen)
                await served_cpu_us(http, headers, 100)  # warm
                if provider is not None:
                    provider.force_flush()
                EncodingExporter.exported = 0
                found[label].append(await served_cpu_us(http, headers, args.requests))
                if provider is not None:
                    provider.shutdown()  # its last batch exported, inside nobody's round
                spans[label] = EncodingExporter.exported / args.requests
    use(this, tracer(None)[0])
    return found, spans


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]) if __doc__ else None,
    )
    parser.add_argument("--before", metavar="REF", help="also the chassis tracing of git REF")
    parser.add_argument("--requests", type=int, default=2000, help="per round (default 2000)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    args = parser.parse_args()
    found, spans = asyncio.run(measure(args))
    off = statistics.median(found["off"])
    for label, rounds in found.items():
        median = statistics.median(rounds)
        print(
            f"{label:<12} {median:6.0f} µs/request ({median - off:+5.0f} µs against off),"
            f" {spans[label]:.1f} spans exported per request;"
            f" rounds {', '.join(f'{x:.0f}' for x in rounds)}",
            file=sys.stderr,  # the app's request lines go to stdout
        )


if __name__ == "__main__":
    main()
