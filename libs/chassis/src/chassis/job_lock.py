"""One run of a scheduled job at a time, across every scheduler: a Postgres advisory lock.

Two runners, two compose schedulers, a CronJob pod that outlives its minute: each run
first takes the session-level advisory lock keyed by its service and job, in the service's
own database, and holds it until the run ends (the session ending frees it too: a killed
run never leaves it held). A run that finds it held does nothing: the run holding it is
doing the same work. Such a run is not recorded in `job_runs` (it did nothing, and the
metric's outcomes stay ok|failed); it logs one line and exits 0.

The lock is held on its own connection, in a thread with its own event loop, so the job's
work (synchronous, running its own `asyncio.run`) runs unchanged in the caller's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum

from sqlalchemy import text

from chassis.db import Database


class Lock(Enum):
    TAKEN = "taken"
    HELD_ELSEWHERE = "held elsewhere"
    UNAVAILABLE = "unavailable"  # the database could not be asked


def lock_key(service: str, job: str) -> int:
    """A stable signed 64-bit key for pg_try_advisory_lock(bigint)."""
    digest = hashlib.sha256(f"mosaic-job:{service}.{job}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def job_lock(database_url: str, service: str, job: str) -> Iterator[Lock]:
    """Hold the job's advisory lock while the block runs, if it can be had: yields TAKEN,
    HELD_ELSEWHERE (another run has it) or UNAVAILABLE (the database away)."""
    answered = threading.Event()
    done = threading.Event()
    outcome: list[Lock] = []

    async def hold() -> None:
        database = Database(database_url, pool_size=1)
        try:
            await database.open()
            async with database.engine.connect() as session:
                # Autocommit: the session holds the lock, not an open transaction (which
                # an idle-in-transaction timeout would end, losing the lock mid-run).
                connection = await session.execution_options(isolation_level="AUTOCOMMIT")
                taken = await connection.scalar(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key(service, job)}
                )
                outcome.append(Lock.TAKEN if taken else Lock.HELD_ELSEWHERE)
                answered.set()
                if taken:
                    await asyncio.to_thread(done.wait)
                    await connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key(service, job)}
                    )
        finally:
            await database.close()

    def run() -> None:
        try:
            with contextlib.suppress(Exception):  # the database away: the caller decides
                asyncio.run(hold())
        finally:
            if not outcome:
                outcome.append(Lock.UNAVAILABLE)
            answered.set()

    holder = threading.Thread(target=run, name=f"job-lock-{job}", daemon=True)
    holder.start()
    answered.wait()
    try:
        yield outcome[0]
    finally:
        done.set()
        holder.join()
