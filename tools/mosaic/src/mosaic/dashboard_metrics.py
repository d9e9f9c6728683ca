"""The dashboard's numbers, from the services' own `/metrics`, as Prometheus would get them.

A `Scrape` is one reading of every process's ops port: per target, each sample by name and
labels. Rates come from two scrapes (the counter's growth over the time between them, per
target so a restarted process's reset counter counts from zero, as `rate()` does), and p95
from the growth of the histogram's buckets, interpolated inside the bucket as
`histogram_quantile()` does. Gauges (outbox, lag) are the latest scrape's, summed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

Labels = tuple[tuple[str, str], ...]  # sorted (name, value) pairs
Samples = dict[tuple[str, Labels], float]
SERVER_REQUESTS = "mosaic_http_server_requests_total"
SERVER_DURATION = "mosaic_http_server_request_duration_seconds_bucket"
CLIENT_REQUESTS = "mosaic_http_client_requests_total"
CLIENT_DURATION = "mosaic_http_client_request_duration_seconds_bucket"
CLIENT_ERRORS = frozenset({"http_5xx", "timeout", "unreachable", "circuit_open"})


def parse_samples(text: str) -> Samples:
    """Every sample of one Prometheus text exposition."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = float(sample.value)
    return found


@dataclass(frozen=True)
class Scrape:
    at: float  # seconds, monotonic
    targets: Mapping[str, Samples] = field(default_factory=dict)  # ops address: samples


@dataclass(frozen=True)
class Traffic:
    """Requests of one service or one call edge over a window."""

    rate: float = 0.0  # per second
    errors: float = 0.0  # of them, per second
    p95: float | None = None  # seconds; None without requests

    @property
    def error_ratio(self) -> float:
        return self.errors / self.rate if self.rate else 0.0


def growth(before: Scrape, after: Scrape, name: str, **match: str) -> dict[Labels, float]:
    """How much each series of counter `name` matching `match` grew, summed over targets."""
    grown: dict[Labels, float] = {}
    for target, samples in after.targets.items():
        earlier = before.targets.get(target, {})
        for (sample, labels), value in samples.items():
            if sample != name or not _matches(labels, match):
                continue
            start = earlier.get((sample, labels), 0.0)
            delta = value - start if value >= start else value  # a reset: counted from 0
            grown[labels] = grown.get(labels, 0.0) + delta
    return grown


def quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """The q-quantile of cumulative bucket counts (upper bound: count), interpolated
    linearly inside its bucket; the highest finite bound when it falls in +Inf."""
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] <= 0:
        return None
    rank = q * buckets[bounds[-1]]
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, count
    return lower


def server_traffic(before: Scrape, after: Scrape, service: str) -> Traffic:
    seconds = after.at - before.at
    counts = growth(before, after, SERVER_REQUESTS, service=service)
    errors = sum(n for labels, n in counts.items() if dict(labels).get("status", "")[:1] == "5")
    return _traffic(
        seconds,
        sum(counts.values()),
        errors,
        _buckets(before, after, SERVER_DURATION, service=service),
    )


def call_traffic(before: Scrape, after: Scrape, caller: str, callee: str) -> Traffic:
    seconds = after.at - before.at
    counts = growth(before, after, CLIENT_REQUESTS, service=caller, callee=callee)
    errors = sum(n for labels, n in counts.items() if dict(labels).get("outcome") in CLIENT_ERRORS)
    buckets = _buckets(before, after, CLIENT_DURATION, service=caller, callee=callee)
    return _traffic(seconds, sum(counts.values()), errors, buckets)


def gauge(scrape: Scrape, name: str, **match: str) -> float | None:
    """The sum of a gauge's matching series over every target; None when none has it."""
    values = _gauge_values(scrape, name, match)
    return sum(values) if values else None


def gauge_max(scrape: Scrape, name: str, **match: str) -> float | None:
    """The largest of a gauge's matching series over every target; None when none has it."""
    values = _gauge_values(scrape, name, match)
    return max(values) if values else None


def _gauge_values(scrape: Scrape, name: str, match: Mapping[str, str]) -> list[float]:
    return [
        value
        for samples in scrape.targets.values()
        for (sample, labels), value in samples.items()
        if sample == name and _matches(labels, match)
    ]


def _traffic(
    seconds: float, requests: float, errors: float, buckets: dict[float, float]
) -> Traffic:
    if seconds <= 0 or requests <= 0:
        return Traffic()
    return Traffic(requests / seconds, errors / seconds, quantile(0.95, buckets))


def _buckets(before: Scrape, after: Scrape, name: str, **match: str) -> dict[float, float]:
    summed: dict[float, float] = {}
    for labels, delta in growth(before, after, name, **match).items():
        bound = float(dict(labels)["le"])  # "+Inf" parses as inf
        summed[bound] = summed.get(bound, 0.0) + delta
    return summed


def _matches(labels: Labels, match: Mapping[str, str]) -> bool:
    have = dict(labels)
    return all(have.get(key) == value for key, value in match.items())
