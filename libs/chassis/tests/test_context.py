from __future__ import annotations

from chassis.context import Trace, parse_deadline
from hypothesis import given
from hypothesis import strategies as st


def test_traceparent_round_trip() -> None:
    trace = Trace.new()
    parsed = Trace.parse(trace.header())
    assert parsed == trace


def test_child_keeps_trace_id_with_a_new_span() -> None:
    parent = Trace.new()
    child = parent.child()
    assert child.trace_id == parent.trace_id
    assert child.span_id != parent.span_id


def test_parses_the_w3c_example() -> None:
    header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    parsed = Trace.parse(header)
    assert parsed is not None
    assert parsed.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert parsed.sampled


def test_rejects_malformed_and_all_zero_ids() -> None:
    for header in (
        "",
        "garbage",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
    ):
        assert Trace.parse(header) is None, header


@given(st.text(max_size=80))
def test_never_raises_on_any_header(header: str) -> None:
    # Whatever a caller sends: no exception, and either nothing or a well-formed value.
    trace = Trace.parse(header)
    if trace is not None:
        assert Trace.parse(trace.header()) == trace
        assert (len(trace.trace_id), len(trace.span_id)) == (32, 16)
    deadline = parse_deadline(header)
    assert deadline is None or 0 < deadline < float("inf")


def test_deadline_is_epoch_milliseconds() -> None:
    assert parse_deadline("1700000000123") == 1700000000.123
    assert parse_deadline("soon") is None
    assert parse_deadline("-5") is None
