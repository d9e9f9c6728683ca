"""The outbox: written with the registration, relayed in order, then deleted (the link's
token must not stay at rest in clear)."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from accounts.events import STREAM
from accounts.outbox import Relay
from chassis import Database


class Broker:
    """An in-memory stand-in for the broker port: what was published, or a failure."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []
        self.fail_after = fail_after

    async def __call__(self, stream: str, envelope: dict[str, Any]) -> None:
        if self.fail_after is not None and len(self.published) >= self.fail_after:
            raise ConnectionError("broker away")
        self.published.append((stream, envelope))


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
