"""Exact percentiles and the result's figures from the generator's own samples."""

import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st
from loadgen.stats import Recorder, Series, percentile


def test_percentiles_interpolate_between_neighbours() -> None:
    ordered = [10.0, 20.0, 30.0, 40.0]
    assert percentile(ordered, 0) == 10.0
    assert percentile(ordered, 50) == 25.0
    assert percentile(ordered, 100) == 40.0
    assert percentile(ordered, 95) == pytest.approx(38.5)
    assert percentile([7.25], 99) == 7.25
    assert percentile([], 50) is None


def test_a_percentile_is_between_0_and_100() -> None:
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0], 101)


@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=2, max_size=200))
def test_percentiles_agree_with_the_standard_library(samples: list[float]) -> None:
    ordered = sorted(samples)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    for q in (50, 95, 99):
        assert percentile(ordered, q) == pytest.approx(cuts[q - 1], rel=1e-9, abs=1e-9)


def test_a_series_summary_has_every_field_and_latencies_of_successes_only() -> None:
    series = Series()
    for milliseconds in (1.5, 2.5, 3.5):
        series.add(milliseconds, failed=False)
    series.add(0.1, failed=True)
    series.dropped = 2
    assert series.summary(2.0) == {
        "requests": 4, "failures": 1, "dropped": 2, "rps": 2.0,
        "p50_ms": 2.5, "p95_ms": 3.4, "p99_ms": 3.48, "mean_ms": 2.5, "max_ms": 3.5,
    }  # fmt: skip


def test_an_empty_series_has_no_latencies() -> None:
    figures = Series().summary(1.0)
    assert figures["requests"] == 0
    assert figures["rps"] == 0.0
    assert [figures[k] for k in ("p50_ms", "p95_ms", "p99_ms", "mean_ms", "max_ms")] == [None] * 5


def test_the_recorder_counts_measured_actions_and_names_their_errors() -> None:
    recorder = Recorder()
    recorder.expect(["home", "browse"])
    recorder.action("home", 5.0, None, counted=True)
    recorder.action("home", 9.0, "GET / answered 503", counted=True)
    recorder.action("home", 9.0, "GET / answered 503", counted=True)
    recorder.action("home", 1.0, "GET / answered 503", counted=False)  # warm-up
    recorder.dropped("browse")
    recorder.request("GET /", 4.5, failed=False)
    recorder.setup_error("setup", "sign-up: too many registrations")
    result = recorder.summary(1.0)
    assert result["flows"]["home"]["requests"] == 3
    assert result["flows"]["browse"] == {**Series().summary(1.0), "dropped": 1}
    assert result["total"]["requests"] == 3
    assert result["total"]["dropped"] == 1
    assert result["total"]["failures"] == 2
    assert result["requests"]["GET /"]["p50_ms"] == 4.5
    assert result["errors"] == [{"name": "home", "message": "GET / answered 503", "count": 2}]
    assert result["setup_errors"][0]["count"] == 1
    assert (recorder.finished, recorder.failed) == (4, 3)


def test_loadgen_holds_the_one_percentile_definition() -> None:
    """bench/ and `mosaic bench` import `percentile`; none computes its own (statistics'
    quantiles default to the exclusive method, which reads higher at the tail)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sources = [*root.glob("bench/*.py"), *root.glob("tools/*/src/**/*.py")]
    own = [
        str(path.relative_to(root))
        for path in sources
        if any(s in path.read_text() for s in ("quantiles(", "def percentile", "np.percentile"))
    ]
    assert not own, f"use loadgen.stats.percentile instead of a percentile of its own: {own}"
