"""Job runs, recorded in the service's own database, and counted from those records.

A scheduled job (orders' `recover`) is a short process with no ops port: no scrape would
ever catch its counters, under `mosaic up` (the runner starts it every 30 s), in compose
(`chassis.schedule`) or on Kubernetes (a CronJob's pod). So a run leaves a row instead:
`record_run` wraps a job entry point's work and, when it ends, writes one row to the
service's `job_runs` table (job, started_at, finished_at, outcome ok|failed, the last
`OUTPUT_TAIL_CHARS` of what the run wrote to stdout; UTC, timezone-aware), and in the same
transaction adds it to `job_run_totals` (runs, seconds and the histogram's buckets per job
and outcome). The service's web process reads those totals on its /metrics (`export_runs`,
from the app's lifespan, when the service's database has that table), with a probe run at
most every `metrics.PROBE_SECONDS`, as the outbox backlog is. Totals, not a count of the
rows: the rows are pruned, and a counter must never fall.

Runs are one at a time across every scheduler (chassis.job_lock): a run that finds its
job's lock held does nothing and leaves no row. Each row written prunes its job's rows
older than KEEP_DAYS (keeping at least the last KEEP_RUNS), so the table stays small.

A run is written when it ends: one killed outright (SIGKILL, a lost node) leaves no row.
The run is also the root span of its own trace (`job <name>`), so its queries and calls
are traced, at the ratio like a page view.
"""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

import structlog
from sqlalchemy import text

from chassis import metrics, tracing
from chassis.db import Database
from chassis.job_lock import Lock, job_lock
from chassis.logs import get_logger

_log = get_logger("chassis.job_runs")

OUTPUT_TAIL_CHARS = 4096
OUTCOMES = ("ok", "failed")
KEEP_DAYS = 7  # job_runs keeps a week of runs per job, and at least the last KEEP_RUNS
KEEP_RUNS = 20
# Each recorded run prunes its job's older rows: no separate job to schedule, and running
# it twice deletes nothing more.
PRUNE_SQL = (
    "DELETE FROM job_runs WHERE job = :job"  # noqa: S608  # constants only
    f" AND started_at < now() - interval '{KEEP_DAYS} days'"
    " AND id NOT IN (SELECT id FROM job_runs WHERE job = :job"
    f" ORDER BY started_at DESC LIMIT {KEEP_RUNS})"
)


@dataclass(frozen=True)
class JobRun:
    job: str
    started_at: datetime
    finished_at: datetime
    outcome: str
    output_tail: str


class _Tail(io.TextIOBase):
    """stdout as it was, keeping the last `limit` characters written through it."""

    def __init__(self, out: TextIO, limit: int) -> None:
        self.out = out
        self.limit = limit
        self.kept = ""

    def write(self, data: str) -> int:
        self.kept = (self.kept + data)[-self.limit :]
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()

    def isatty(self) -> bool:
        return self.out.isatty()


def record_run(service: str, job: str, database_url: str, work: Callable[[], int]) -> int:
    """Run `work` (a job's run; its exit code) under the job's advisory lock
    (chassis.job_lock: when another run holds it, nothing runs and 0 is returned), as the
    root span `job <job>`, and record the run in the service's `job_runs`; the exit code
    (1 when `work` raised, which is logged). A run that cannot be recorded (the database
    away) is logged and keeps its exit code."""
    with job_lock(database_url, service, job) as lock:
        if lock is Lock.HELD_ELSEWHERE:
            _log.info("job run skipped: another run of it holds its lock", job=job)
            return 0
        if lock is Lock.UNAVAILABLE:  # its work needs the database too: it will say more
            _log.warning("job run without its lock: the database did not answer", job=job)
        return _run_and_record(service, job, database_url, work)


def _run_and_record(service: str, job: str, database_url: str, work: Callable[[], int]) -> int:
    tracing.configure_tracing(service, job)
    tail = _Tail(sys.stdout, OUTPUT_TAIL_CHARS)
    started = datetime.now(UTC)
    with (
        redirect_stdout(tail),
        tracing.job_span(job),
        structlog.contextvars.bound_contextvars(trace_id=tracing.current_trace_id()),
    ):
        try:
            code = work()
        except Exception as error:  # the run failed: say why in the log and the record
            _log.exception("job run failed", job=job, error=f"{type(error).__name__}: {error}")
            code = 1
    run = JobRun(job, started, datetime.now(UTC), "ok" if code == 0 else "failed", tail.kept)
    try:
        asyncio.run(_insert(database_url, run))
    except Exception as error:
        _log.warning("job run not recorded", job=job, error=f"{type(error).__name__}: {error}")
    return code


async def _insert(database_url: str, run: JobRun) -> None:
    database = Database(database_url, pool_size=1)
    await database.open()
    try:
        async with database.engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO job_runs (job, started_at, finished_at, outcome, output_tail)"
                    " VALUES (:job, :started_at, :finished_at, :outcome, :output_tail)"
                ),
                run.__dict__,
            )
            await connection.execute(text(ADD_TO_TOTALS_SQL), _total_of(run))
            await connection.execute(text(PRUNE_SQL), {"job": run.job})
    finally:
        await database.close()


# -- the web process's side: the records as metrics ------------------------------------


# One run added to its job's totals; buckets of another length (JOB_BUCKETS changed) start
# again from this run.
ADD_TO_TOTALS_SQL = (
    "INSERT INTO job_run_totals AS t (job, outcome, runs, seconds, buckets)"
    " VALUES (:job, :outcome, 1, :seconds, CAST(:buckets AS bigint[]))"
    " ON CONFLICT (job, outcome) DO UPDATE SET runs = t.runs + 1,"
    " seconds = t.seconds + EXCLUDED.seconds,"
    " buckets = CASE WHEN cardinality(t.buckets) = cardinality(EXCLUDED.buckets) THEN"
    " ARRAY(SELECT a + b FROM unnest(t.buckets, EXCLUDED.buckets) WITH ORDINALITY AS u(a, b, i)"
    " ORDER BY i) ELSE EXCLUDED.buckets END"
)
COUNTS_SQL = "SELECT job, outcome, runs, seconds, buckets FROM job_run_totals ORDER BY job, outcome"


def _total_of(run: JobRun) -> dict[str, Any]:
    seconds = (run.finished_at - run.started_at).total_seconds()
    buckets = [int(seconds <= bound) for bound in metrics.JOB_BUCKETS]
    return {"job": run.job, "outcome": run.outcome, "seconds": seconds, "buckets": buckets}


def export_runs(database: Database, service: str) -> None:
    """Count the service's job runs on this process's /metrics, from its `job_run_totals`
    (a database without them has no jobs: nothing is counted). Undo with `unexport_runs`."""

    async def measure() -> None:
        async with database.engine.connect() as connection:
            found = "SELECT to_regclass('job_run_totals') IS NOT NULL"
            if not await connection.scalar(text(found)):
                return
            rows = (await connection.execute(text(COUNTS_SQL))).mappings().all()
        metrics.job_runs.counts[service] = [_count(row) for row in rows]

    metrics.watch((metrics.job_runs, service), measure)


def unexport_runs(service: str) -> None:
    metrics.unwatch((metrics.job_runs, service))


def _count(row: Any) -> metrics.JobRunCount:
    buckets = [int(n) for n in row["buckets"]]
    if len(buckets) != len(metrics.JOB_BUCKETS):  # other bounds, until the next run
        buckets = [0] * len(metrics.JOB_BUCKETS)
    return metrics.JobRunCount(
        row["job"], row["outcome"], int(row["runs"]), float(row["seconds"]), buckets
    )
