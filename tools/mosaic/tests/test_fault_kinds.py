"""The fault kinds as the command line and the control channel give them: what each takes,
and a clear refusal for anything else."""

import pytest
from mosaic.chaos.faults import Fault, check_seconds, fault_from_json, make_fault
from mosaic.errors import UsageError


def test_each_kind_with_its_options() -> None:
    assert make_fault("none") == Fault()
    slow = make_fault("latency", latency_ms=300, jitter_ms=50)
    assert slow.describe() == "latency 300 ms ± 50 ms"
    assert make_fault("reset").describe() == "reset"
    assert make_fault("reset", probability=0.25).describe() == "reset 25%"
    assert make_fault("blackhole").describe() == "blackhole"
    assert make_fault("bandwidth", rate=2000).describe() == "bandwidth 2000 B/s"
    assert make_fault("partial").describe() == "partial writes of 16 B"
    assert make_fault("partial", piece_bytes=3).piece_bytes == 3


@pytest.mark.parametrize(
    ("kind", "options", "says"),
    [
        ("slow", {}, "no fault kind 'slow'"),
        ("latency", {}, "latency needs --latency-ms"),
        ("latency", {"latency_ms": -1}, "--latency-ms -1: must be between 0 and 60000"),
        ("latency", {"latency_ms": 10, "rate": 5}, "--rate does not apply to latency"),
        ("blackhole", {"latency_ms": 10}, "--latency-ms does not apply to blackhole"),
        ("bandwidth", {}, "bandwidth needs --rate"),
        ("bandwidth", {"rate": 0}, "--rate 0: must be between 1"),
        ("reset", {"probability": 0}, "--probability 0: must be above 0"),
        ("reset", {"probability": 1.5}, "--probability 1.5: must be above 0"),
        ("partial", {"piece_bytes": 0}, "--bytes 0: must be between 1 and 65536"),
    ],
)
def test_refusals_say_what_is_wrong(kind: str, options: dict[str, float], says: str) -> None:
    with pytest.raises(UsageError, match=None) as refused:
        make_fault(kind, **options)  # type: ignore[arg-type]
    assert says in refused.value.message
    assert refused.value.exit_code == 2


def test_the_control_channel_checks_as_the_command_line_does() -> None:
    assert fault_from_json({"kind": "latency", "latency_ms": 5}) == make_fault(
        "latency", latency_ms=5
    )
    for bad in ([], {"kind": 3}, {"kind": "latency", "latency_ms": "5"}, {"kind": "none", "x": 1}):
        with pytest.raises(UsageError):
            fault_from_json(bad)


def test_durations_are_bounded() -> None:
    check_seconds("--for", 5)
    for bad in (0, -1, 3601):
        with pytest.raises(UsageError, match="--for"):
            check_seconds("--for", bad)
