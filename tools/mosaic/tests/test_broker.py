"""BROKER_URL users on a real Valkey: each service appends only to its own stream and works
its consumer group only on the streams it consumes; chassis.events runs under those ACLs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis
import redis.exceptions
from chassis.events import Consumer, Event, Publisher, stream_of
from mosaic.backing import BackingServers

Denied = redis.exceptions.NoPermissionError


@pytest.fixture(scope="module")
def names() -> dict[str, str]:
    """Service names of this module's own (a shared Valkey serves every test)."""
    tag = uuid.uuid4().hex[:6]
    return {role: f"{role}_{tag}" for role in ("shop", "mailer", "other")}


@pytest.fixture
async def shop(backing: BackingServers, names: dict[str, str]) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(backing.broker_url(names["shop"]))
    yield client
    await client.aclose()


@pytest.fixture
async def mailer(backing: BackingServers, names: dict[str, str]) -> AsyncIterator[aioredis.Redis]:
    backing.broker_url(names["other"])
    client = aioredis.Redis.from_url(backing.broker_url(names["mailer"], [names["shop"]]))
    yield client
    await client.aclose()


def test_the_broker_user_is_not_the_services_valkey_user(
    backing: BackingServers, names: dict[str, str]
) -> None:
    broker = urlsplit(backing.broker_url(names["shop"]))
    cache = urlsplit(backing.redis_url(names["shop"]))
    assert broker.username == f"broker.{names['shop']}"
    assert broker.password != cache.password
    assert (broker.hostname, broker.port) == (cache.hostname, cache.port)


async def test_a_producer_appends_to_its_own_stream_only(
    shop: aioredis.Redis, names: dict[str, str]
) -> None:
    assert await shop.ping()
    await shop.xadd(stream_of(names["shop"]), {"event": "{}"})
    for stream in (stream_of(names["other"]), stream_of(names["mailer"]), "events:x"):
        with pytest.raises(Denied):
            await shop.xadd(stream, {"event": "{}"})
    with pytest.raises(Denied):  # it does not read its own stream either
        await shop.xrange(stream_of(names["shop"]))
    with pytest.raises(Denied):
        await shop.delete(stream_of(names["shop"]))


async def test_a_consumer_works_its_group_only_on_the_streams_it_consumes(
    shop: aioredis.Redis, mailer: aioredis.Redis, names: dict[str, str]
) -> None:
    consumed, foreign = stream_of(names["shop"]), stream_of(names["other"])
    await shop.xadd(consumed, {"event": "{}"})
    await mailer.xgroup_create(consumed, "mail", id="0", mkstream=True)
    reply: Any = await mailer.xreadgroup("mail", "m1", {consumed: ">"}, count=1)
    assert reply
    entry_id = next(iter(reply.values()))[0][0] if isinstance(reply, dict) else reply[0][1][0][0]
    await mailer.xautoclaim(consumed, "mail", "m2", min_idle_time=0)
    [group] = await mailer.xinfo_groups(consumed)  # its metrics: the group's lag, pending
    assert group["pending"] == 1
    assert await mailer.xack(consumed, "mail", entry_id) == 1

    with pytest.raises(Denied):  # publishing to the stream it consumes
        await mailer.xadd(consumed, {"event": "{}"})
    for denied in (
        mailer.xrange(consumed),  # reading outside its group
        mailer.xread({consumed: "0"}),
        mailer.delete(consumed),
        mailer.xgroup_destroy(consumed, "mail"),
        mailer.xgroup_setid(consumed, "mail", "0"),
        mailer.xgroup_create(foreign, "mail", id="0", mkstream=True),  # not consumed
        mailer.xreadgroup("mail", "m1", {foreign: ">"}),
        mailer.set(f"{names['mailer']}:x", "1"),  # ordinary keys, even its own prefix
        mailer.get(f"{names['mailer']}:x"),
        mailer.keys("*"),
        mailer.publish(f"{names['mailer']}:news", "hi"),
        mailer.flushall(),
    ):
        with pytest.raises(Denied):
            await denied


async def test_events_flow_under_the_acls(backing: BackingServers, names: dict[str, str]) -> None:
    shop_url = backing.broker_url(names["shop"])
    mailer_url = backing.broker_url(names["mailer"], [names["shop"]])
    stream = stream_of(names["shop"])
    got: list[Event] = []

    async def handle(event: Event) -> None:
        got.append(event)

    consumer = Consumer(mailer_url, stream, "flow", "flow-1", handle, claim_idle_seconds=1)
    await consumer.ping()  # what a worker's /readyz does
    task = asyncio.create_task(consumer.run())
    try:
        async with Publisher(shop_url) as publisher:
            await publisher.ping()
            sent = Event(type="OrderConfirmed", version=1, data={"order": 1})
            await publisher.publish(stream, sent)
        for _ in range(600):
            if sent in got:
                break
            await asyncio.sleep(0.05)
        assert sent in got
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await consumer.close()


async def test_a_producer_trims_its_stream_and_a_consumer_dead_letters_under_the_acls(
    backing: BackingServers, names: dict[str, str]
) -> None:
    from chassis.events import dead_letters_of, trim

    tag = uuid.uuid4().hex[:6]
    producer, consumer = f"producer_{tag}", f"consumer_{tag}"
    shop = aioredis.Redis.from_url(backing.broker_url(producer))
    mailer = aioredis.Redis.from_url(backing.broker_url(consumer, [producer]))
    consumed, foreign = stream_of(producer), stream_of(names["other"])
    try:
        await shop.xadd(consumed, {"event": "{}"})
        await mailer.xgroup_create(consumed, "mail", id="0", mkstream=True)
        reply: Any = await mailer.xreadgroup("mail", "m1", {consumed: ">"}, count=1)
        entry_id = (
            next(iter(reply.values()))[0][0] if isinstance(reply, dict) else reply[0][1][0][0]
        )
        # The consumer counts deliveries and sets aside what it cannot handle...
        [pending] = await mailer.xpending_range(consumed, "mail", min="-", max="+", count=1)
        assert pending["times_delivered"] == 1
        await mailer.xadd(dead_letters_of(consumed), {"reason": "test"})
        assert await mailer.xack(consumed, "mail", entry_id) == 1
        # ...and the producer trims what every group has acknowledged, reading no entry.
        assert await trim(shop, consumed, max_age_seconds=0) == 1

        for denied in (
            mailer.xadd(dead_letters_of(foreign), {"reason": "test"}),  # not consumed
            mailer.xrange(dead_letters_of(consumed)),  # replaying is the operator's
            mailer.xtrim(consumed, maxlen=0),
            shop.xinfo_groups(foreign),
            shop.xtrim(foreign, maxlen=0),
            shop.xrange(dead_letters_of(consumed)),
            shop.xrevrange(consumed),
        ):
            with pytest.raises(Denied):
                await denied
    finally:
        await shop.aclose()
        await mailer.aclose()
