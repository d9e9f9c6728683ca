"""chassis.tracing's own decisions: which sampler the `OTEL_*` variables ask for, that a
query or call no request or event started is no trace, that an unsampled request pays for
no span below it (issue 14 item 7), that writes are traced (up to a rate) when asked, and bad
settings in one line."""

from __future__ import annotations

import time

import pytest
from chassis import sampling, tracing
from chassis.sampling import NoOrphanCalls, WriteReservoir, sampler_from_env
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Sampler
from opentelemetry.trace import SpanKind


def recorded_with(sampler_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the spans a small piece of work leaves under these settings."""
    for name, value in sampler_env.items():
        monkeypatch.setenv(name, value)
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=NoOrphanCalls(sampler_from_env()))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with (
        tracer.start_as_current_span("GET /v1/things/{id}", kind=SpanKind.SERVER),
        tracer.start_as_current_span("SELECT", kind=SpanKind.CLIENT),
    ):
        pass
    with tracer.start_as_current_span("XREADGROUP", kind=SpanKind.CLIENT):  # a poll
        pass
    return [span.name for span in exporter.get_finished_spans()]


def test_a_request_is_traced_and_a_poll_is_not(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1"}
    assert recorded_with(env, monkeypatch) == ["SELECT", "GET /v1/things/{id}"]


def test_sampling_at_zero_records_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"}
    assert recorded_with(env, monkeypatch) == []


def test_a_sampled_callers_trace_is_kept_whatever_the_ratio(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0")
    provider = TracerProvider(sampler=NoOrphanCalls(sampler_from_env()))
    carrier = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
    with provider.get_tracer("t").start_as_current_span(
        "GET /", context=tracing.extract(carrier), kind=SpanKind.SERVER
    ) as span:
        assert span.is_recording()
        assert tracing.current_trace_id() == "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("OTEL_TRACES_SAMPLER", "sometimes", "OTEL_TRACES_SAMPLER='sometimes' is not supported"),
        ("OTEL_TRACES_SAMPLER_ARG", "lots", "OTEL_TRACES_SAMPLER_ARG='lots' is not a ratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "1.5", "OTEL_TRACES_SAMPLER_ARG='1.5' is not a ratio"),
    ],
)
def test_a_bad_sampler_setting_stops_with_one_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        sampler_from_env()
    message = str(stopped.value.code)
    assert message.startswith(expected) and "\n" not in message


def test_a_bad_exporter_setting_stops_with_one_line() -> None:
    with pytest.raises(SystemExit) as stopped:
        tracing._exporter("zipkin")
    assert str(stopped.value.code) == (
        "OTEL_TRACES_EXPORTER='zipkin' is not supported: set it to one of otlp, console, none"
    )


def test_without_a_span_a_fresh_trace_id_still_groups_the_log_lines() -> None:
    assert not trace.get_current_span().get_span_context().is_valid
    first, second = tracing.current_trace_id(), tracing.current_trace_id()
    assert len(first) == 32 and int(first, 16) and first != second


def traced_by(
    ratio: float, monkeypatch: pytest.MonkeyPatch, *, writes_per_second: float = 0
) -> InMemorySpanExporter:
    """The chassis's spans go to a provider of this test, sampling at `ratio`."""
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", str(ratio))
    sampler: Sampler = NoOrphanCalls(sampler_from_env())
    exporter = InMemorySpanExporter()
    if writes_per_second:
        sampler = WriteReservoir(sampler, writes_per_second)
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "_tracer", provider.get_tracer("chassis"))
    return exporter


def a_request(method: str = "GET", headers: dict[str, str] | None = None) -> dict[str, str]:
    """What a request's work sees: whether instrumentations run, and what a call passes on."""
    span, token = tracing.start_server_span(method, headers or {})
    try:
        tracing.name_server_span(method, "/v1/products/{id}", 200)
        seen = {"instrumented": str(is_instrumentation_enabled())}
        with tracing.client_span("currency", "GET") as call:
            seen["own_call_span"] = str(call is not span)
            tracing.inject(seen)
        return seen
    finally:
        tracing.end_server_span(span, token, 200)


def is_sampled(traceparent: str) -> bool:
    return bool(int(traceparent.rsplit("-", 1)[1], 16) & 1)  # the flags' sampled bit


@pytest.mark.parametrize("ratio", [0.0, 1.0])
def test_an_unsampled_request_builds_no_attributes_and_no_span_below_it(
    ratio: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    exporter = traced_by(ratio, monkeypatch)
    built: list[str] = []
    builder = tracing.server_attributes

    def counted(method: str) -> dict[str, str]:
        built.append(method)
        return builder(method)

    monkeypatch.setattr(tracing, "server_attributes", counted)

    seen = a_request()

    recorded = [span.name for span in exporter.get_finished_spans()]
    if ratio:
        assert built == ["GET"] and recorded == ["GET currency", "GET /v1/products/{id}"]
        assert seen["instrumented"] == "True" and seen["own_call_span"] == "True"
        assert is_sampled(seen["traceparent"])
    else:
        # No attributes, no client span, and Valkey's and SQLAlchemy's instrumentations
        # told to make none; the callee still learns that the trace is not sampled.
        assert built == [] and recorded == []
        assert seen["instrumented"] == "False" and seen["own_call_span"] == "False"
        assert not is_sampled(seen["traceparent"])
    assert is_instrumentation_enabled()  # the request's context is gone with it


def test_writes_are_traced_whatever_the_ratio_and_reads_by_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exporter = traced_by(0.0, monkeypatch, writes_per_second=1)
    a_request("GET")
    assert exporter.get_finished_spans() == ()
    a_request("POST")
    assert {span.name for span in exporter.get_finished_spans()} == {
        "GET currency",
        "POST /v1/products/{id}",
    }
    # A write inside a trace its caller did not sample stays unsampled: one trace, one say.
    exporter.clear()
    unsampled = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}
    assert not is_sampled(a_request("POST", unsampled)["traceparent"])
    assert exporter.get_finished_spans() == ()


def test_writes_are_kept_up_to_the_rate_in_bursts_then_by_the_ratio(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])  # the reservoir's clock
    exporter = traced_by(0.0, monkeypatch, writes_per_second=0.5)  # a burst of 30
    kept = [is_sampled(a_request("POST")["traceparent"]) for _ in range(32)]
    assert kept == [True] * 30 + [False] * 2  # past the burst, the ratio (0) decides
    now[0] += 2.0  # one more write's worth at 0.5 a second
    assert [is_sampled(a_request("DELETE")["traceparent"]) for _ in range(2)] == [True, False]
    assert len(exporter.get_finished_spans()) == 31 * 2


@pytest.mark.parametrize("value", ["-1", "many", "inf", "nan"])
def test_a_bad_write_rate_stops_with_one_line(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOSAIC_TRACE_WRITES_PER_SECOND", value)
    with pytest.raises(SystemExit) as stopped:
        sampling.writes_per_second_from_env()
    assert str(stopped.value.code).startswith(
        f"MOSAIC_TRACE_WRITES_PER_SECOND={value!r} is not a rate: set it to 0 or more"
    )


@pytest.mark.parametrize("ratio", [0.0, 1.0])
def test_a_job_run_is_the_root_of_the_queries_it_makes(
    ratio: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scheduled job's queries and calls are no orphans: its run is their trace's root
    (`job <name>`), sampled at the ratio like a page view."""
    exporter = traced_by(ratio, monkeypatch)
    with tracing.job_span("recover"), tracing.client_span("payments", "GET"):
        pass
    spans = exporter.get_finished_spans()
    if not ratio:
        assert spans == ()
        return
    call, job = spans
    assert (job.name, job.kind, job.parent) == ("job recover", SpanKind.INTERNAL, None)
    assert job.attributes == {"mosaic.job": "recover"}
    assert call.parent is not None and call.parent.span_id == job.context.span_id
