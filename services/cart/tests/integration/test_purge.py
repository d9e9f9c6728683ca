"""cart's `purge` job on real Postgres: visitor carts unchanged for 30 days go, with their
lines and order marks; newer ones and every signed-in shopper's cart stay; a second run
deletes nothing. The job's command line runs under its lock and leaves a `job_runs` row."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import asyncpg
from cart.jobs import purge
from chassis.testing import ServiceKeys, in_process_env

from .conftest import SERVICE_DIR

# (visitor or user, days since its last change, with a line)
CARTS = {
    "idle-visitor": ("visitor", 31, True),
    "idle-visitor-empty": ("visitor", 45, False),
    "recent-visitor": ("visitor", 29, True),
    "idle-user": ("user", 90, True),
    "fresh-visitor": ("visitor", 0, False),
}


async def _carts(db: asyncpg.Connection) -> dict[str, str]:
    """The carts made as CARTS says, aged by SQL: name -> id."""
    ids = {}
    for name, (kind, days, with_line) in CARTS.items():
        owner = f"{name}-{'x' * 22}"
        ids[name] = str(
            await db.fetchval(
                f"INSERT INTO carts (id, {kind}_id, created_at, updated_at)"  # noqa: S608
                " VALUES (gen_random_uuid(), $1, now() - make_interval(days => $2),"
                " now() - make_interval(days => $2)) RETURNING id",
                owner,
                days,
            )
        )
        if with_line:
            await db.execute(
                "INSERT INTO cart_lines (cart_id, product_id, quantity)"
                " VALUES ($1, 'wool-socks', 2)",
                ids[name],
            )
    return ids


async def _left(db: asyncpg.Connection, ids: dict[str, str]) -> set[str]:
    kept = {str(r["id"]) for r in await db.fetch("SELECT id FROM carts")}
    return {name for name, cart_id in ids.items() if cart_id in kept}


async def test_purge_deletes_exactly_the_idle_visitor_carts_and_is_idempotent(
    database_url: str, db: asyncpg.Connection
) -> None:
    ids = await _carts(db)
    assert await purge(database_url) == 2
    assert await _left(db, ids) == {"recent-visitor", "idle-user", "fresh-visitor"}
    lines = await db.fetchval("SELECT count(*) FROM cart_lines")
    assert lines == 2  # the deleted cart's line went with it
    assert await purge(database_url) == 0
    assert await _left(db, ids) == {"recent-visitor", "idle-user", "fresh-visitor"}


async def test_the_purge_command_is_recorded_in_job_runs(
    database_url: str, db: asyncpg.Connection, keys: ServiceKeys
) -> None:
    await db.execute("TRUNCATE job_runs")
    ids = await _carts(db)
    env = in_process_env("cart", keys, DATABASE_URL=database_url, LOG_FORMAT="json")
    env.pop("PORT"), env.pop("OPS_PORT")  # a job has no ports of its own
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "cart.jobs", "purge"],
        cwd=SERVICE_DIR,
        env={**os.environ, **{k: str(v) for k, v in env.items()}},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert await _left(db, ids) == {"recent-visitor", "idle-user", "fresh-visitor"}
    run = await db.fetchrow("SELECT job, outcome, output_tail FROM job_runs")
    assert run is not None
    assert (run["job"], run["outcome"]) == ("purge", "ok")
    assert "idle visitor carts deleted: 2" in run["output_tail"]
