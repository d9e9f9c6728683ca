"""The outbox's poison rows and retention, on real Postgres and a real Valkey: a row that
can never be published is set aside without holding up the rows after it; published rows
are deleted after the retention window, by the relay and by the scheduled `trim` job."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from chassis import Database
from chassis.events import Publisher
from chassis.outbox import BrokerPublish
from chassis.testing import ServiceKeys
from mosaic.backing import BackingServers
from orders.events import STREAM
from orders.jobs import TrimSettings, trim
from orders.outbox import Relay, retry, set_aside
from redis.asyncio import Redis

from services.orders.tests.stand_ins import StandIns

from .driving import Shopper, place, settings_env


@pytest.fixture
async def publisher(backing: BackingServers) -> AsyncIterator[Publisher]:
    async with Publisher(backing.broker_url("orders")) as publisher:
        yield publisher


async def published_ids(backing: BackingServers) -> list[str]:
    broker = Redis.from_url(backing.admin_redis_url)
    try:
        entries: Any = await broker.xrange(STREAM)
    finally:
        await broker.aclose()
    return [orjson.loads(fields[b"event"])["id"] for _, fields in entries]


async def _orders(
    client: httpx.AsyncClient, stand_ins: StandIns, visitor: Callable[[], Shopper], n: int
) -> None:
    for _ in range(n):
        shopper = visitor()
        stand_ins.cart.fill(shopper, {"wool-socks": 1})
        assert (await place(client, shopper)).status_code == 201


async def _two_published_long_ago_one_not_yet(
    client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    db: asyncpg.Connection,
    relay: Relay,
) -> None:
    """Three orders' events published, two of them 2 hours ago; a fourth not published."""
    await _orders(client, stand_ins, visitor, 3)
    assert await relay.relay_once() == 3
    seqs = [r["seq"] for r in await db.fetch("SELECT seq FROM outbox ORDER BY seq")]
    await db.execute(
        "UPDATE outbox SET published_at = now() - interval '2 hours' WHERE seq = ANY($1)",
        seqs[:2],
    )
    await _orders(client, stand_ins, visitor, 1)  # not published yet: never deleted


async def test_a_poison_row_is_set_aside_without_holding_up_later_events(
    client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    database: Database,
    db: asyncpg.Connection,
    publisher: Publisher,
    backing: BackingServers,
) -> None:
    await _orders(client, stand_ins, visitor, 3)
    seqs = [r["seq"] for r in await db.fetch("SELECT seq FROM outbox ORDER BY seq")]
    # The first row's envelope is broken (a bug, a bad migration): no retry can send it.
    await db.execute("UPDATE outbox SET payload = payload - 'type' WHERE seq = $1", seqs[0])
    relay = Relay(database, BrokerPublish(publisher), max_attempts=3)
    assert await relay.relay_once() == 2  # the two after it went out at once
    good = [
        str(r["event_id"])
        for r in await db.fetch("SELECT event_id FROM outbox WHERE seq > $1 ORDER BY seq", seqs[0])
    ]
    assert (await published_ids(backing))[-2:] == good
    poison = await db.fetchrow("SELECT * FROM outbox WHERE seq = $1", seqs[0])
    assert poison is not None
    assert (poison["attempts"], poison["set_aside_at"]) == (1, None)
    assert "invalid event" in poison["last_error"]

    assert await relay.relay_once() == 0
    assert await relay.relay_once() == 0  # the third attempt: set aside
    [aside] = await set_aside(database)
    assert (aside.event_id, aside.attempts) == (str(poison["event_id"]), 3)
    assert aside.type == "OrderConfirmed" and "invalid event" in (aside.last_error or "")
    assert await relay.relay_once() == 0  # no longer tried
    assert await db.fetchval("SELECT attempts FROM outbox WHERE seq = $1", seqs[0]) == 3

    # The operator fixes the row and gives it back to the relay.
    await db.execute(
        "UPDATE outbox SET payload = jsonb_set(payload, '{type}', to_jsonb(type)) WHERE seq = $1",
        seqs[0],
    )
    assert await retry(database, aside.event_id) == 1
    assert await relay.relay_once() == 1
    assert await set_aside(database) == []
    assert (await published_ids(backing))[-1] == aside.event_id


async def test_published_rows_are_deleted_after_the_retention_window(
    client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    database: Database,
    db: asyncpg.Connection,
    publisher: Publisher,
) -> None:
    relay = Relay(database, BrokerPublish(publisher), retention_seconds=3600)
    await _two_published_long_ago_one_not_yet(client, stand_ins, visitor, db, relay)
    assert await relay.forget_published() == 2
    assert await db.fetchval("SELECT count(*) FROM outbox") == 2
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 1
    assert await relay.forget_published() == 0


async def test_a_published_row_keeps_no_guest_link(
    client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    database: Database,
    db: asyncpg.Connection,
    publisher: Publisher,
    backing: BackingServers,
) -> None:
    """The guest link's token opens the order's page: published, it is in the stream for
    notifications, and no longer at rest in orders' database for the retention window."""
    shopper = visitor()
    stand_ins.cart.fill(shopper, {"wool-socks": 1})
    answer = await place(client, shopper)
    assert answer.status_code == 201, answer.text
    token = answer.json()["status_url_token"]
    assert await Relay(database, BrokerPublish(publisher)).relay_once() == 1
    broker = Redis.from_url(backing.admin_redis_url)
    try:
        [(_, fields)] = await broker.xrevrange(STREAM, count=1)  # the newest: ours
    finally:
        await broker.aclose()
    assert token in fields[b"event"].decode()  # the shopper's mail gets the link
    row = await db.fetchrow("SELECT published_at, payload FROM outbox")
    assert row is not None and row["published_at"] is not None
    assert token not in str(row["payload"])
    assert orjson.loads(row["payload"])["data"]["order_id"] == answer.json()["id"]


async def test_the_trim_job_deletes_what_the_relay_would_and_a_second_run_nothing(
    client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    database: Database,
    db: asyncpg.Connection,
    publisher: Publisher,
    backing: BackingServers,
    database_url: str,
    keys: ServiceKeys,
) -> None:
    relay = Relay(database, BrokerPublish(publisher))
    await _two_published_long_ago_one_not_yet(client, stand_ins, visitor, db, relay)
    stream = len(await published_ids(backing))
    env = settings_env(
        database_url,
        stand_ins,
        keys,
        BROKER_URL=backing.broker_url("orders"),
        OUTBOX_RETENTION_SECONDS=3600,
        EVENTS_RETENTION_SECONDS=3600,  # every entry is younger: the stream stays
    )
    env.pop("PORT"), env.pop("OPS_PORT")
    known = {f.validation_alias for f in TrimSettings.model_fields.values()}
    settings = TrimSettings.model_validate({k: v for k, v in env.items() if k in known})

    assert await trim(settings) == (2, 0)
    assert await db.fetchval("SELECT count(*) FROM outbox") == 2
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 1
    assert len(await published_ids(backing)) == stream
    assert await trim(settings) == (0, 0)
