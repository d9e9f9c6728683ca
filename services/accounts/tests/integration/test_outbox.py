"""The outbox: written with the registration, relayed in order, then deleted (the link's
token must not stay at rest in clear)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import Any

import asyncpg
import pytest
from accounts.events import STREAM
from accounts.outbox import Relay, retry, set_aside
from chassis import Database
from chassis.events import Event
from chassis.outbox import BrokerPublish
from chassis.testing import ServiceKeys

from .conftest import SERVICE_DIR


class Broker:
    """An in-memory stand-in for the broker port: what was published, or a failure."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []
        self.fail_after = fail_after

    async def __call__(
        self, stream: str, envelope: dict[str, Any], traceparent: str | None = None
    ) -> None:
        if self.fail_after is not None and len(self.published) >= self.fail_after:
            raise ConnectionError("broker away")
        self.published.append((stream, envelope))


class Publisher:
    """An in-memory stand-in for chassis.events' Publisher, behind the relay's real
    BrokerPublish (which refuses an envelope that is not an event before it gets here)."""

    def __init__(self) -> None:
        self.published: list[Event] = []

    async def publish(self, stream: str, event: Event, traceparent: str | None = None) -> None:
        assert stream == STREAM
        self.published.append(event)


async def test_published_events_leave_the_outbox_in_order(
    register: Any, urls: Any, db: asyncpg.Connection
) -> None:
    emails = [f"relay-{n}@example.com" for n in range(3)]
    for email in emails:
        await register(email, verify=False)
    database = Database(urls.database, pool_size=1)
    await database.open()
    try:
        broker = Broker(fail_after=2)
        relay = Relay(database, broker)
        with pytest.raises(ConnectionError):
            await relay.relay_once()
        # The two the broker took are gone; the third waits for the next pass.
        assert await db.fetchval("SELECT count(*) FROM outbox") == 1
        broker.fail_after = None
        assert await relay.relay_once() == 1
    finally:
        await database.close()
    assert [e["data"]["email"] for _, e in broker.published] == emails
    assert {stream for stream, _ in broker.published} == {STREAM}
    assert await db.fetchval("SELECT count(*) FROM outbox") == 0


async def test_a_row_that_is_not_an_event_is_set_aside_without_blocking_the_rest(
    register: Any, urls: Any, db: asyncpg.Connection
) -> None:
    """A poison row (here: a payload no envelope validates) must not hold back the links
    of everyone who signs up after it."""
    await register("before@example.com", verify=False)
    await db.execute(
        "INSERT INTO outbox (event_id, type, version, payload)"
        " VALUES (gen_random_uuid(), 'AccountRegistered', 1, '{\"not\": \"an event\"}')"
    )
    await register("after@example.com", verify=False)
    database = Database(urls.database, pool_size=1)
    await database.open()
    try:
        publisher = Publisher()
        assert await Relay(database, BrokerPublish(publisher)).relay_once() == 2  # type: ignore[arg-type]
    finally:
        await database.close()
    assert [e.data["email"] for e in publisher.published] == [
        "before@example.com",
        "after@example.com",
    ]
    aside = await db.fetch("SELECT failed_at, error FROM outbox")
    assert len(aside) == 1 and aside[0]["failed_at"] is not None
    assert "an event" not in aside[0]["error"]  # where and what, not the values


async def test_the_operator_lists_a_set_aside_row_without_its_payload_and_retries_it(
    register: Any, urls: Any, db: asyncpg.Connection
) -> None:
    """What `mosaic admin dead-letters` shows of accounts' outbox (through `python -m
    accounts.jobs outbox`): the row the relay set aside, never its payload; a retry gives
    it back to the relay."""
    await db.execute(
        "INSERT INTO outbox (event_id, type, version, payload) VALUES"
        " (gen_random_uuid(), 'AccountRegistered', 1, '{\"verify_url\": \"/verify-email/s3cret\"}')"
    )
    database = Database(urls.database, pool_size=1)
    await database.open()
    try:
        publisher = Publisher()
        assert await Relay(database, BrokerPublish(publisher)).relay_once() == 0  # type: ignore[arg-type]
        assert publisher.published == []
        [aside] = await set_aside(database)
        assert (aside.type, aside.version) == ("AccountRegistered", 1)
        assert (aside.last_error or "").startswith("invalid event: ")
        assert "s3cret" not in repr(aside)
        assert await retry(database, aside.event_id) == 1
        assert await set_aside(database) == []
        assert await db.fetchval("SELECT count(*) FROM outbox WHERE failed_at IS NULL") == 1
    finally:
        await database.close()


async def test_the_outbox_job_lists_as_mosaic_admin_reads_it(
    register: Any, urls: Any, db: asyncpg.Connection, keys: ServiceKeys
) -> None:
    """`python -m accounts.jobs outbox --json`, as `mosaic admin dead-letters` runs it with
    the service's environment: one JSON line, the set-aside row without its payload."""
    await db.execute(
        "INSERT INTO outbox (event_id, type, version, payload, failed_at, error) VALUES"
        " (gen_random_uuid(), 'VerificationRequested', 1, '{\"data\": \"s3cret\"}', now(),"
        " 'invalid event: id')"
    )
    env = {
        **{name: value for name, value in os.environ.items() if name != "PORT"},
        "MOSAIC_SERVICE": "accounts",  # no PORT: a job serves nothing
        "OPS_PORT": "2",
        "DATABASE_URL": urls.database,
        "REDIS_URL": urls.redis,
        "TRANSPORT_SECURITY": "mesh",
        "SERVICE_TRUST_DIR": str(keys.trust_dir),
        "MOSAIC_PROCESS": "outbox",
    }

    def job(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "accounts.jobs", "outbox", *arguments],
            cwd=SERVICE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    result = await asyncio.to_thread(job, "--json")
    assert result.returncode == 0, result.stderr
    [listed] = [line for line in result.stdout.splitlines() if line.startswith("[")]
    [row] = json.loads(listed)
    assert (row["type"], row["last_error"]) == ("VerificationRequested", "invalid event: id")
    assert "s3cret" not in result.stdout + result.stderr
    # On a terminal: one line per row, as the operator reads it.
    text = await asyncio.to_thread(job)
    assert text.returncode == 0, text.stderr
    line = f"{row['event_id']}  VerificationRequested v1  invalid event: id"
    assert line in text.stdout.splitlines()
    assert "s3cret" not in text.stdout + text.stderr
    refused = await asyncio.to_thread(job, "--retry", "not-an-id")
    assert refused.returncode == 2 and "an event id (a UUID) or all" in refused.stderr
