"""`mosaic admin jobs`: every scheduled job of every service, and the shop's own daily
backup (`mosaic.backup`, recorded in the admin database: admin/shop_job.py), as its runs
left it.

Each run of a job leaves a row in its service's `job_runs` table (chassis.job_runs: start,
end, outcome, output tail; runs skipped because another held the job's lock leave none).
This reads those tables with the Postgres admin role, the running `mosaic up`'s own (its
port from the runner's state, its password from $MOSAIC_HOME/secrets.json) or the one
given with --postgres-admin-url (compose, a cluster through a port-forward), and adds
each job's next run from its declaration (mosaic.schedules), as seen from now.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from mosaic.admin.backing_urls import running_urls
from mosaic.admin.shop_job import SERVICE
from mosaic.backup_job import JOB as BACKUP
from mosaic.errors import MosaicError
from mosaic.schedules import next_run
from mosaic.services import Job, Service

# The last `:runs` rows of each job, newest first.
RUNS_SQL = (
    "SELECT job, started_at, finished_at, outcome, output_tail FROM ("
    " SELECT *, row_number() OVER (PARTITION BY job ORDER BY started_at DESC) AS n"
    " FROM job_runs) AS runs WHERE n <= $1 ORDER BY job, started_at DESC"
)


@dataclass(frozen=True)
class Run:
    started_at: datetime
    finished_at: datetime
    outcome: str
    output_tail: str

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class JobSeen:
    service: str
    job: Job
    next_run: datetime
    runs: list[Run] = field(default_factory=list)  # newest first

    @property
    def last(self) -> Run | None:
        return self.runs[0] if self.runs else None


def admin_postgres_url(home: Path, given: str | None) -> str:
    """The Postgres admin URL: the one given, else the running `mosaic up`'s."""
    if given:
        return given
    running = running_urls(home)
    if running is None:
        raise MosaicError(
            f"Mosaic is not running on {home}",
            "Start it with `./mosaic up`, or give the admin URL with --postgres-admin-url.",
        )
    return running.postgres


def read_jobs(
    admin_url: str, services: list[Service], runs: int, now: datetime, shop: bool = True
) -> list[JobSeen]:
    """Every job of `services`, with its last `runs` runs (at least the last one); and,
    with `shop`, the shop's own (`mosaic.backup`, recorded in the admin database)."""
    owners = [(s.name, s.jobs, _database_url(admin_url, s.name)) for s in services if s.jobs]
    if shop:
        admin_database = urlsplit(admin_url).path.lstrip("/") or "postgres"
        owners.append((SERVICE, (BACKUP,), _database_url(admin_url, admin_database)))
    return asyncio.run(_read(owners, max(1, runs), now))


async def _read(
    owners: list[tuple[str, tuple[Job, ...], str]], runs: int, now: datetime
) -> list[JobSeen]:
    seen = []
    for owner, jobs, url in owners:
        rows = await _runs(url, runs)
        for job in jobs:
            mine = [
                Run(r["started_at"], r["finished_at"], r["outcome"], r["output_tail"])
                for r in rows
                if r["job"] == job.name
            ]
            last_start = mine[0].started_at if mine else None
            seen.append(JobSeen(owner, job, next_run(job.cron, job.every, last_start, now), mine))
    return seen


async def _runs(url: str, runs: int) -> list[Any]:
    try:
        connection = await asyncpg.connect(url, timeout=10)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        name = urlsplit(url).path.lstrip("/")
        raise MosaicError(
            f"cannot read {name}'s job runs: {error}",
            "Check that the shop runs and that the admin URL may connect to its databases.",
        ) from None
    try:
        if not await connection.fetchval("SELECT to_regclass('job_runs') IS NOT NULL"):
            return []  # not migrated yet: no runs
        return list(await connection.fetch(RUNS_SQL, runs))
    finally:
        await connection.close()


def _database_url(admin_url: str, database: str) -> str:
    """The admin URL, on the service's own database (named after it)."""
    parts = urlsplit(admin_url)
    return urlunsplit(
        (parts.scheme.replace("+asyncpg", ""), parts.netloc, f"/{database}", parts.query, "")
    )


def as_json(jobs: list[JobSeen], with_runs: bool) -> dict[str, Any]:
    def run(r: Run, tail: bool) -> dict[str, Any]:
        found: dict[str, Any] = {
            "started_at": r.started_at.isoformat(),
            "finished_at": r.finished_at.isoformat(),
            "outcome": r.outcome,
            "seconds": round(r.seconds, 3),
        }
        return {**found, "output_tail": r.output_tail} if tail else found

    return {
        "jobs": [
            {
                "service": j.service,
                "job": j.job.name,
                "schedule": j.job.schedule,
                "last_run": run(j.last, False) if j.last else None,
                "next_run": j.next_run.isoformat(),
                **({"runs": [run(r, True) for r in j.runs]} if with_runs else {}),
            }
            for j in jobs
        ]
    }


def lines(jobs: list[JobSeen], with_runs: bool, tail_lines: int = 5) -> list[str]:
    """The listing on a terminal: one line per job, then its runs with their output tail."""
    out = []
    for j in jobs:
        last = (
            f"last {_when(j.last.started_at)} {j.last.outcome} {j.last.seconds:.2f} s"
            if j.last
            else "never run"
        )
        out.append(f"{j.service}.{j.job.name}  {j.job.schedule}  {last}  next {_when(j.next_run)}")
        for r in j.runs if with_runs else []:
            out.append(f"  {_when(r.started_at)}  {r.outcome}  {r.seconds:.2f} s")
            out += [f"    {line}" for line in r.output_tail.splitlines()[-tail_lines:]]
    return out or ["No scheduled jobs."]


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
