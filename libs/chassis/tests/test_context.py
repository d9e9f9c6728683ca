from __future__ import annotations

from chassis.context import parse_deadline
from hypothesis import given
from hypothesis import strategies as st

# The trace's header (`traceparent`) is OpenTelemetry's to parse now: test_tracing.py.


@given(st.text(max_size=80))
def test_never_raises_on_any_header(header: str) -> None:
    # Whatever a caller sends: no exception, and either nothing or a well-formed value.
    deadline = parse_deadline(header)
    assert deadline is None or 0 < deadline < float("inf")


def test_deadline_is_epoch_milliseconds() -> None:
    assert parse_deadline("1700000000123") == 1700000000.123
    assert parse_deadline("soon") is None
    assert parse_deadline("-5") is None
