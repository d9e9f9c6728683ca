"""Exact latency figures from the generator's own samples (float milliseconds), not from
Locust's rounded histogram buckets: every sample is kept, so a percentile is one of them
or lies between two neighbours."""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

PERCENTILES = {"p50_ms": 50.0, "p95_ms": 95.0, "p99_ms": 99.0}


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) of samples sorted ascending, interpolated linearly
    between the two nearest ranks (numpy's default, `statistics.quantiles`'s "inclusive");
    None without samples."""
    if not 0 <= q <= 100:
        raise ValueError(f"a percentile is between 0 and 100, not {q}")
    if not ordered:
        return None
    rank = q / 100 * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Series:
    """What happened to one flow (or one kind of request) in the measured window: the
    latency of every success, and how many failed or were dropped before starting."""

    latencies: array[float] = field(default_factory=lambda: array("d"))
    failures: int = 0
    dropped: int = 0

    def add(self, milliseconds: float, failed: bool) -> None:
        if failed:
            self.failures += 1
        else:
            self.latencies.append(milliseconds)

    @property
    def count(self) -> int:
        return len(self.latencies) + self.failures

    def merge(self, others: Iterable[Series]) -> Series:
        for other in others:
            self.latencies.extend(other.latencies)
            self.failures += other.failures
            self.dropped += other.dropped
        return self

    def summary(self, seconds: float) -> dict[str, Any]:
        """The result's fields for this series over a window of `seconds`. Latencies are of
        the successes only (a fast failure would flatter them); None when there are none."""
        ordered = sorted(self.latencies)
        figures: dict[str, Any] = {
            "requests": self.count,
            "failures": self.failures,
            "dropped": self.dropped,
            "rps": round(self.count / seconds, 3) if seconds > 0 else 0.0,
        }
        for name, q in PERCENTILES.items():
            value = percentile(ordered, q)
            figures[name] = round(value, 3) if value is not None else None
        figures["mean_ms"] = round(math.fsum(ordered) / len(ordered), 3) if ordered else None
        figures["max_ms"] = round(ordered[-1], 3) if ordered else None
        return figures


@dataclass
class Recorder:
    """Every counted sample of a run, by flow and by request, with the errors by name."""

    flows: dict[str, Series] = field(default_factory=dict)
    requests: dict[str, Series] = field(default_factory=dict)
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    setup_errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    # Every finished action, counted or not: what the progress lines report.
    finished: int = 0
    failed: int = 0

    def expect(self, flows: Iterable[str]) -> None:
        """Report these flows even if none of them ran."""
        for name in flows:
            self.flows.setdefault(name, Series())

    def action(self, flow: str, milliseconds: float, error: str | None, counted: bool) -> None:
        self.finished += 1
        self.failed += error is not None
        if counted:
            self.flows.setdefault(flow, Series()).add(milliseconds, error is not None)
            if error is not None:
                self.errors[(flow, error)] += 1

    def request(self, name: str, milliseconds: float, failed: bool) -> None:
        self.requests.setdefault(name, Series()).add(milliseconds, failed)

    def dropped(self, flow: str) -> None:
        self.flows.setdefault(flow, Series()).dropped += 1

    def setup_error(self, name: str, message: str) -> None:
        self.setup_errors[(name, message)] += 1

    def summary(self, seconds: float) -> dict[str, Any]:
        """The result's "flows", "total", "requests", "errors" and "setup_errors"."""
        return {
            "flows": {name: s.summary(seconds) for name, s in sorted(self.flows.items())},
            "total": Series().merge(self.flows.values()).summary(seconds),
            "requests": {name: s.summary(seconds) for name, s in sorted(self.requests.items())},
            "errors": _listed(self.errors),
            "setup_errors": _listed(self.setup_errors),
        }


def _listed(errors: Counter[tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {"name": name, "message": message, "count": count}
        for (name, message), count in errors.most_common()
    ]
