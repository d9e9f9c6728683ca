"""When a scheduled job runs: its declaration's one rule, and its next run.

A job in `[tool.mosaic.jobs]` has exactly one of:
- `cron = "MIN HOUR DAY MONTH WEEKDAY"`: five-field cron, in UTC, for everything on the
  clock (`"0 3 * * *"`: daily at 03:00). Runs at each time the expression names.
- `every = SECONDS` (1 to 86400): start to start, for what a cron expression cannot say
  (orders' recovery every 30 s). Runs once the stack is ready, then every SECONDS.

The same declaration drives the runner, compose's `chassis.schedule` (`--cron` or
`--every`) and the Kubernetes CronJob (whose schedule is at best a minute: an `every`
under a minute runs there every minute, see `cron_schedule`).
"""

from __future__ import annotations

import itertools
import math
from datetime import datetime

from croniter import croniter  # type: ignore[import-untyped]  # ships no type hints

EXAMPLE_CRON = '"0 3 * * *"'
MAX_EVERY = 86_400


def cron_problem(expression: str) -> str | None:
    """Why `expression` is not a five-field cron expression, or None when it is one."""
    if len(expression.split()) != 5:
        return f"{expression!r} has {len(expression.split())} fields, not 5"
    if not croniter.is_valid(expression):
        return f"{expression!r} is not a cron expression"
    return None


def next_cron(expression: str, after: datetime) -> datetime:
    """The first time strictly after `after` (timezone-aware) that `expression` names."""
    found: datetime = croniter(expression, after).get_next(datetime)
    return found


def next_run(
    cron: str | None, every: float | None, last_start: datetime | None, now: datetime
) -> datetime:
    """When a job runs next, seen from `now`: its next cron time, or `every` seconds after
    its last start (now, when it never ran or is overdue)."""
    if cron is not None:
        return next_cron(cron, now)
    assert every is not None
    if last_start is None:
        return now
    return max(now, datetime.fromtimestamp(last_start.timestamp() + every, now.tzinfo))


def period_minutes(cron: str | None, every: float | None) -> int:
    """The shortest gap between two runs, in whole minutes (at least 1), for deadlines."""
    if cron is None:
        assert every is not None
        return max(1, math.ceil(every / 60))
    runs = croniter(cron, datetime(2026, 1, 1))  # gaps are zone-free
    times = [runs.get_next(float) for _ in range(6)]
    return max(1, int(min(b - a for a, b in itertools.pairwise(times)) // 60))


def cron_schedule(cron: str | None, every: float | None) -> str:
    """The job's schedule where only cron exists (a CronJob, Cloud Scheduler): its own,
    or `every` rounded up to whole minutes."""
    if cron is not None:
        return cron
    assert every is not None
    return f"*/{period_minutes(None, every)} * * * *"
