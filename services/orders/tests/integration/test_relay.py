"""The relay process on a real broker: `python -m orders.relay` publishes the outbox to
`events:orders`, marks rows published, and answers /readyz."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable

import asyncpg
import httpx
import orjson
from chassis.testing import ServiceKeys
from mosaic.backing import BackingServers
from mosaic.ports import free_port
from redis.asyncio import Redis

from services.orders.tests.stand_ins import StandIns

from .driving import SERVICE_DIR, Shopper, place


async def test_the_relay_process_publishes_the_outbox(
    client: httpx.AsyncClient,
    stand_ins: StandIns,
    visitor: Callable[[], Shopper],
    db: asyncpg.Connection,
    backing: BackingServers,
    database_url: str,
    keys: ServiceKeys,
) -> None:
    for _ in range(2):
        shopper = visitor()
        stand_ins.cart.fill(shopper, {"wool-socks": 1})
        assert (await place(client, shopper)).status_code == 201
    written = [
        str(r["event_id"]) for r in await db.fetch("SELECT event_id FROM outbox ORDER BY seq")
    ]
    ops_port = free_port()
    env = {
        **os.environ,
        "MOSAIC_SERVICE": "orders",
        "PORT": str(free_port()),
        "OPS_PORT": str(ops_port),
        "DATABASE_URL": database_url,
        "BROKER_URL": backing.admin_redis_url,  # the runner provisions a broker user per service
        "TRANSPORT_SECURITY": "mesh",
        "SERVICE_TRUST_DIR": str(keys.trust_dir),
        "LOG_FORMAT": "json",
        "RELAY_POLL_SECONDS": "0.1",
    }
    relay = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "orders.relay",
        cwd=SERVICE_DIR,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        ready, unpublished = False, -1
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline and not (ready and unpublished == 0):
                try:
                    answer = await http.get(f"http://127.0.0.1:{ops_port}/readyz")
                    ready = answer.status_code == 200
                except httpx.TransportError:
                    pass
                unpublished = await db.fetchval(
                    "SELECT count(*) FROM outbox WHERE published_at IS NULL"
                )
                await asyncio.sleep(0.2)
        assert ready and unpublished == 0
    finally:
        relay.terminate()
        output = (await asyncio.wait_for(relay.communicate(), 30))[0].decode()
    assert relay.returncode == 0, output
    broker = Redis.from_url(backing.admin_redis_url)
    try:
        entries = await broker.xrange("events:orders")
    finally:
        await broker.aclose()
    published = [orjson.loads(fields[b"event"])["id"] for _, fields in entries]
    assert published[-2:] == written
