"""The process's Prometheus metrics (prometheus-client), served on the ops port's /metrics.

One registry per process (one process per replica, so no multiprocess mode). Every family
has a `service` label: in-process mode hosts several services in one process. Label values
are bounded: a route is its template (never a raw path: guest links hold tokens), a status
its number, a method one of the known ones; a metric with an unbounded label would grow
with every distinct value and each series costs memory in every Prometheus that scrapes it.

Gauges that need a query (outbox backlog, consumer lag) are `Probe`s: awaited when
/metrics is read, each at most once per `PROBE_SECONDS` (its last values are served in
between), so a scrape costs at most one cheap query or XINFO per probe every few seconds
however often it is scraped. Pool gauges are read from the pools' own counters: no I/O.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from chassis.logs import get_logger

_log = get_logger("chassis.metrics")

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)  # process_cpu_seconds_total, process_resident_memory_bytes

# The service whose resources are being opened (set by the app's lifespan and the worker),
# so a pool names its service without every constructor taking it.
service: contextvars.ContextVar[str] = contextvars.ContextVar("metrics_service", default="")

SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
PROBE_SECONDS = 5.0

http_server_requests = Counter(
    "mosaic_http_server_requests",
    "Requests answered, by route template and status.",
    ["service", "route", "method", "status"],
    registry=REGISTRY,
)
http_server_duration = Histogram(
    "mosaic_http_server_request_duration_seconds",
    "Time from a request's arrival to the end of its answer.",
    ["service", "route", "method"],
    buckets=SECONDS_BUCKETS,
    registry=REGISTRY,
)
http_client_requests = Counter(
    "mosaic_http_client_requests",
    "Attempts of calls to other services, by outcome and attempt (1, 2, 3+).",
    ["service", "callee", "outcome", "attempt"],
    registry=REGISTRY,
)
http_client_duration = Histogram(
    "mosaic_http_client_request_duration_seconds",
    "Time of one attempt of a call to another service.",
    ["service", "callee"],
    buckets=SECONDS_BUCKETS,
    registry=REGISTRY,
)
http_client_retries = Counter(
    "mosaic_http_client_retries",
    "Attempts after the first of calls to other services.",
    ["service", "callee"],
    registry=REGISTRY,
)
http_server_shed = Counter(
    "mosaic_http_server_requests_shed",
    "Requests refused at once with 503 and Retry-After: the process had its bound in flight.",
    ["service"],
    registry=REGISTRY,
)
http_server_in_flight = Gauge(
    "mosaic_http_server_requests_in_flight",
    "Requests the process is serving now (admission control's count).",
    ["service"],
    registry=REGISTRY,
)
http_client_retries_refused = Counter(
    "mosaic_http_client_retries_refused",
    "Retries not made because the retry budget for the callee was spent.",
    ["service", "callee"],
    registry=REGISTRY,
)
http_client_breaker_state = Gauge(
    "mosaic_http_client_breaker_state",
    "The circuit breaker of calls to a callee: 0 closed, 1 half-open, 2 open.",
    ["service", "callee"],
    registry=REGISTRY,
)
http_client_breaker_refused = Counter(
    "mosaic_http_client_breaker_refused",
    "Calls refused at once because the callee's circuit breaker was open.",
    ["service", "callee"],
    registry=REGISTRY,
)
http_client_pool = Gauge(
    "mosaic_http_client_pool_connections",
    "The process's aiohttp connections to other services, in use or idle.",
    ["service", "state"],
    registry=REGISTRY,
)
db_pool = Gauge(
    "mosaic_db_pool_connections",
    "Postgres connections of the pool, in use or idle.",
    ["service", "state"],
    registry=REGISTRY,
)
db_pool_wait = Histogram(
    "mosaic_db_pool_wait_seconds",
    "Time to get a Postgres connection from the pool.",
    ["service"],
    buckets=(0.0005, 0.001, *SECONDS_BUCKETS),
    registry=REGISTRY,
)
valkey_pool = Gauge(
    "mosaic_valkey_pool_connections",
    "Valkey connections of the pool, in use or idle.",
    ["service", "state"],
    registry=REGISTRY,
)
cache_requests = Counter(
    "mosaic_cache_requests",
    "Cache reads, by cache and result (hit, miss).",
    ["service", "cache", "result"],
    registry=REGISTRY,
)
outbox_pending = Gauge(
    "mosaic_outbox_pending_events",
    "Outbox rows not yet published (set-aside rows not counted).",
    ["service"],
    registry=REGISTRY,
)
outbox_oldest_age = Gauge(
    "mosaic_outbox_oldest_pending_age_seconds",
    "Age of the oldest unpublished outbox row (0 when none).",
    ["service"],
    registry=REGISTRY,
)
stream_lag = Gauge(
    "mosaic_stream_consumer_lag_entries",
    "Stream entries the consumer group has not read yet.",
    ["service", "stream", "group"],
    registry=REGISTRY,
)
stream_pending = Gauge(
    "mosaic_stream_pending_entries",
    "Entries read by the group but not acknowledged yet.",
    ["service", "stream", "group"],
    registry=REGISTRY,
)
dead_letters = Counter(
    "mosaic_dead_letters",
    "Events moved to the dead-letter stream.",
    ["service", "stream"],
    registry=REGISTRY,
)
JOB_BUCKETS = (*SECONDS_BUCKETS, 30.0, 60.0, 300.0)


@dataclass(frozen=True)
class JobRunCount:
    """The recorded runs of one job with one outcome: how many, their seconds in all, and
    how many took at most each of JOB_BUCKETS."""

    job: str
    outcome: str
    runs: int
    seconds: float
    buckets: Sequence[int]


class JobRuns(Collector):
    """`mosaic_job_runs_total` and `mosaic_job_duration_seconds`, per service, from the
    counts of its `job_runs` records its probe last read (`chassis.job_runs.export_runs`):
    a job is a short process no scrape catches, so its runs are rows, counted here."""

    def __init__(self) -> None:
        self.counts: dict[str, list[JobRunCount]] = {}

    def collect(self) -> Iterator[Metric]:
        runs = CounterMetricFamily(
            "mosaic_job_runs",
            "Scheduled job runs, by outcome (ok, failed): the service's job_runs records, "
            "counted by its web process.",
            labels=["service", "job", "outcome"],
        )
        duration = HistogramMetricFamily(
            "mosaic_job_duration_seconds",
            "Time of one scheduled job run, from the service's job_runs records (each keeps "
            "its start and end, so every bucket is exact), counted by its web process.",
            labels=["service", "job"],
        )
        for service, counts in sorted(self.counts.items()):
            for count in counts:
                runs.add_metric([service, count.job, count.outcome], count.runs)
            for job in sorted({count.job for count in counts}):
                of_job = [count for count in counts if count.job == job]
                cumulative = [
                    (str(bound), sum(count.buckets[i] for count in of_job))
                    for i, bound in enumerate(JOB_BUCKETS)
                ]
                cumulative.append(("+Inf", sum(count.runs for count in of_job)))
                duration.add_metric(
                    [service, job], cumulative, sum(count.seconds for count in of_job)
                )
        yield runs
        yield duration


job_runs = JobRuns()
REGISTRY.register(job_runs)


def method_label(method: str) -> str:
    """A request's method as a label: any other (a client may send anything) is OTHER."""
    return method if method in METHODS else "OTHER"


def attempt_label(attempt: int) -> str:
    return str(attempt) if attempt < 3 else "3+"


Probe = Callable[[], Awaitable[None]]


class _Watched:
    def __init__(self, probe: Probe, every: float) -> None:
        self.probe = probe
        self.every = every
        self.next = 0.0


_probes: dict[object, _Watched] = {}


def watch(owner: object, probe: Probe, *, every: float = PROBE_SECONDS) -> None:
    """Run `probe` (it sets gauges) when /metrics is read, at most once per `every` seconds."""
    _probes[owner] = _Watched(probe, every)


def unwatch(owner: object) -> None:
    _probes.pop(owner, None)


async def exposition() -> bytes:
    """The registry in Prometheus' text format, after running the probes that are due."""
    now = time.monotonic()
    for owner, watched in list(_probes.items()):
        if watched.next > now:
            continue
        watched.next = now + watched.every
        try:
            await watched.probe()
        except Exception as error:  # a probe whose backing service is away: stale, not fatal
            _log.warning("metrics probe failed", probe=type(owner).__name__, error=str(error))
    return generate_latest(REGISTRY)
