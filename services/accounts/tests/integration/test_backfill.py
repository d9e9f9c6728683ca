"""The backfill of the name split (`python -m accounts.jobs backfill-names`), as the
operator runs it: a process of its own on real Postgres, killed mid-run and run again."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from chassis.testing import ServiceKeys, in_process_env

ROWS = 300
BATCH = 20
# Every fill of a given name, by row: the proof that each row is split exactly once.
_AUDIT = """
CREATE TABLE test_name_fills (id uuid NOT NULL);
CREATE FUNCTION test_name_filled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO test_name_fills VALUES (NEW.id); RETURN NEW; END $$;
CREATE TRIGGER test_name_filled AFTER UPDATE ON users FOR EACH ROW
    WHEN (OLD.given_name IS NULL AND NEW.given_name IS NOT NULL)
    EXECUTE FUNCTION test_name_filled();
"""
_NO_AUDIT = """
DROP TRIGGER IF EXISTS test_name_filled ON users;
DROP FUNCTION IF EXISTS test_name_filled();
DROP TABLE IF EXISTS test_name_fills;
"""


@pytest.fixture
async def old_rows(db: asyncpg.Connection) -> AsyncIterator[None]:
    """ROWS accounts as written before release 1: a display name, no given name."""
    await db.execute(_NO_AUDIT + _AUDIT)
    await db.execute(
        "INSERT INTO users (id, email, display_name, password_hash)"
        " SELECT gen_random_uuid(), 'old-' || i || '@example.com',"
        " 'Given ' || i || ' Family' || i, '$argon2id$x' FROM generate_series(1, $1) i",
        ROWS,
    )
    yield
    await db.execute(_NO_AUDIT)


def _env(urls: Any, keys: ServiceKeys) -> dict[str, str]:
    settings = in_process_env("accounts", keys, DATABASE_URL=urls.database)
    return {**os.environ, **{name: str(value) for name, value in settings.items()}}


async def _backfill(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "accounts.jobs", "backfill-names", "--batch-size", str(BATCH),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def _wait_until_blocked(db: asyncpg.Connection, locker_pid: int) -> None:
    """Until a backend waits for the lock the locker holds (bounded)."""
    for _ in range(300):
        if await db.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
            locker_pid,
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the backfill never reached the locked row")


async def test_a_killed_backfill_run_again_splits_every_row_exactly_once(
    old_rows: None, db: asyncpg.Connection, urls: Any, keys: ServiceKeys
) -> None:
    env = _env(urls, keys)
    locker = await asyncpg.connect(urls.database)
    try:
        # The row halfway, locked as a shopper's write would: the run stops there, mid-way.
        transaction = locker.transaction()
        await transaction.start()
        await locker.execute(
            "SELECT id FROM users WHERE id = (SELECT id FROM users ORDER BY id OFFSET $1 LIMIT 1)"
            " FOR UPDATE",  # (FOR UPDATE beside OFFSET would lock the rows stepped over too)
            ROWS // 2,
        )
        first = await _backfill(env)
        await _wait_until_blocked(db, locker.get_server_pid())
        split_before_kill = await db.fetchval("SELECT count(*) FROM test_name_fills")
        first.send_signal(signal.SIGKILL)
        _, progress = await asyncio.wait_for(first.communicate(), 30)
        await transaction.rollback()
    finally:
        await locker.close()
    assert 0 < split_before_kill < ROWS, progress.decode()  # killed mid-run, batches committed
    assert split_before_kill % BATCH == 0  # whole batches: the one in flight is gone
    assert f"names split: {BATCH} of {ROWS}" in progress.decode()

    second = await _backfill(env)
    out, err = await asyncio.wait_for(second.communicate(), 60)
    assert second.returncode == 0, err.decode()
    assert f"{ROWS - split_before_kill} accounts' names split" in out.decode()

    assert await db.fetchval("SELECT count(*) FROM users WHERE given_name IS NULL") == 0
    fills = await db.fetchrow(
        "SELECT count(*) AS fills, count(DISTINCT id) AS rows FROM test_name_fills"
    )
    assert (fills["fills"], fills["rows"]) == (ROWS, ROWS)  # each row once, none lost
    wrong = await db.fetchval(
        "SELECT count(*) FROM users WHERE given_name <> 'Given ' || substr(email, 5,"
        " strpos(email, '@') - 5) OR family_name <> 'Family' || substr(email, 5,"
        " strpos(email, '@') - 5)"
    )
    assert wrong == 0
