"""End to end: the real worker process (`python -m notifications`, as the Procfile runs it)
consuming `events:orders` on a real Valkey, with real Postgres and a real SMTP server.

Events are published with the chassis publisher, as orders' relay publishes them.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from chassis.events import Event, Publisher
from mosaic.backing import BackingServers
from mosaic.ports import free_port
from redis.asyncio import Redis

from .conftest import SmtpServer

STREAM = "events:orders"
DEAD = "events:orders:dead"
GROUP = "notifications"


class WorkerProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.ops_port = int(env["OPS_PORT"])
        self._log = log.open("wb")
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "notifications"],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                if httpx.get(f"http://127.0.0.1:{self.ops_port}/readyz", timeout=2).is_success:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"not ready within {timeout} s:\n{self.output()}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode


@pytest.fixture
async def admin_broker(backing: BackingServers) -> AsyncIterator[str]:
    """The broker as its admin (to look at pending entries), with a fresh events:orders
    stream per test."""
    url = backing.admin_redis_url
    client = Redis.from_url(url)
    await client.delete(STREAM, DEAD)
    yield url
    await client.delete(STREAM, DEAD)
    await client.aclose()


@pytest.fixture
def broker_url(backing: BackingServers, admin_broker: str) -> str:
    """notifications' own BROKER_URL, as `mosaic up` provisions it: its ACL user may only
    work its consumer groups on events:orders and events:accounts."""
    return backing.broker_url("notifications", consumes=["orders", "accounts"])


@pytest.fixture
def orders_broker_url(backing: BackingServers) -> str:
    """orders' BROKER_URL: it may append to events:orders (what the relay does)."""
    return backing.broker_url("orders")


def worker_env(
    tmp_path: Path, database_url: str, broker_url: str, smtp_url: str, **extra: str
) -> dict[str, str]:
    trust = tmp_path / "trust"
    trust.mkdir(exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "MOSAIC_SERVICE": "notifications",
        "PORT": str(free_port()),  # never bound: a worker has no API
        "OPS_PORT": str(free_port()),
        "TRANSPORT_SECURITY": "mesh",
        "SERVICE_TRUST_DIR": str(trust),
        "DATABASE_URL": database_url,
        "BROKER_URL": broker_url,
        "SMTP_URL": smtp_url,
        "SHOP_URL": "https://shop.example",
        "LOG_FORMAT": "json",
        **extra,
    }


@pytest.fixture
def start_worker(tmp_path: Path, database_url: str, broker_url: str) -> Iterator[Any]:
    started: list[WorkerProcess] = []

    def start(smtp_url: str, name: str = "w", **extra: str) -> WorkerProcess:
        env = worker_env(tmp_path, database_url, broker_url, smtp_url, **extra)
        worker = WorkerProcess(env, tmp_path / f"{name}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


async def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def pending(broker_url: str) -> int:
    client = Redis.from_url(broker_url)
    try:
        summary: Any = await client.xpending(STREAM, GROUP)
        return int(summary["pending"])
    finally:
        await client.aclose()


async def test_the_worker_mails_once_per_event(
    start_worker: Any,
    smtp: SmtpServer,
    orders_broker_url: str,
    admin_broker: str,
    db: asyncpg.Connection,
    order_confirmed: Any,
) -> None:
    worker = start_worker(smtp.url)
    worker.wait_ready()
    event = order_confirmed()
    async with Publisher(orders_broker_url) as publisher:
        await publisher.publish(STREAM, event)
        [mail] = await asyncio.to_thread(smtp.mailbox.wait_for, 1, 60)
        assert mail["Message-ID"] == f"<{event.id}@mail.mosaic.example>"
        assert "https://shop.example/orders/status/" in str(mail.get_body(("html",)))
        # The relay publishes at least once: the same event again, twice; a type we do not
        # subscribe to (acked quietly); a version we do not read (acked: its producer
        # publishes v1 beside it); malformed data (moved to the dead letters, under
        # notifications' own ACL). Still one mail.
        await publisher.publish(STREAM, event)
        await publisher.publish(STREAM, event)
        await publisher.publish(STREAM, Event(type="OrderCancelled", version=1, data={}))
        await publisher.publish(STREAM, Event(type="OrderConfirmed", version=7, data={}))
        await publisher.publish(STREAM, Event(type="OrderConfirmed", version=1, data={"x": 1}))
        last = order_confirmed()
        await publisher.publish(STREAM, last)
    mails = await asyncio.to_thread(smtp.mailbox.wait_for, 2, 60)
    assert [m["Message-ID"] for m in mails] == [
        f"<{event.id}@mail.mosaic.example>",
        f"<{last.id}@mail.mosaic.example>",
    ]
    await wait_until(lambda: _zero(pending(admin_broker)), 30, "every entry acked")
    assert await db.fetchval("SELECT count(*) FROM sent_mail") == 2
    assert worker.stop() == 0  # SIGTERM: a clean exit
    output = worker.output()
    assert "OrderCancelled" not in output  # one warning per cancelled order was noise
    assert output.count("event skipped: a version we do not read") == 1
    assert output.count("event not handled: malformed data") == 1
    assert output.count("event handled already: nothing sent") == 2
    letters = await dead_letters(admin_broker)
    reasons = [letter[b"reason"].decode() for letter in letters]
    assert reasons[0].startswith("malformed data: order_id: ")
    assert len(reasons) == 1  # not the version 7 one: skipped, not a failure
    assert {letter[b"group"] for letter in letters} == {GROUP.encode()}
    assert all(Event.model_validate_json(letter[b"event"]).type for letter in letters)


async def test_the_worker_reads_past_what_it_does_not_know(
    start_worker: Any,
    smtp: SmtpServer,
    admin_broker: str,
    db: asyncpg.Connection,
    order_confirmed: Any,
) -> None:
    """What a later producer may send an old reader, on the real worker: an envelope with a
    field it does not know, data with fields it does not know (at every depth), a new
    version beside v1 and a new type. The known events are mailed, the others acked; none
    is dead-lettered, none is left pending."""
    worker = start_worker(smtp.url)
    worker.wait_ready()
    envelope = order_confirmed()
    richer = order_confirmed()
    data = richer.data | {"loyalty_points": 12, "gift": {"wrapped": True}}
    data["lines"] = [line | {"colour": "blue"} for line in data["lines"]]
    data["total"] = data["total"] | {"formatted": "€65.99"}
    data["address"] = data["address"] | {"floor": 3}
    raw = {**json.loads(envelope.model_dump_json()), "schema": "OrderConfirmed.v1.json"}
    raw_richer = json.loads(richer.model_dump_json()) | {"data": data}
    client = Redis.from_url(admin_broker)  # raw entries: the chassis publisher would refuse them
    try:
        await client.xadd(STREAM, {"event": json.dumps(raw)})
        await client.xadd(STREAM, {"event": json.dumps(raw_richer)})
        await client.xadd(
            STREAM,
            {
                "event": Event(
                    type="OrderConfirmed", version=2, data={"order": {}}
                ).model_dump_json()
            },
        )
        await client.xadd(
            STREAM, {"event": Event(type="OrderRefunded", version=1).model_dump_json()}
        )
    finally:
        await client.aclose()
    mails = await asyncio.to_thread(smtp.mailbox.wait_for, 2, 60)
    assert sorted(m["Message-ID"] for m in mails) == sorted(
        f"<{e.id}@mail.mosaic.example>" for e in (envelope, richer)
    )
    await wait_until(lambda: _zero(pending(admin_broker)), 30, "every entry acked")
    assert await dead_letters(admin_broker) == []
    assert worker.stop() == 0
    assert worker.output().count("event skipped: a version we do not read") == 1


async def dead_letters(admin_url: str) -> list[dict[bytes, bytes]]:
    client = Redis.from_url(admin_url)
    try:
        entries: Any = await client.xrange(DEAD)
        return [fields for _, fields in entries]
    finally:
        await client.aclose()


async def test_an_event_that_keeps_failing_is_dead_lettered_after_max_deliveries(
    start_worker: Any,
    smtp: SmtpServer,
    orders_broker_url: str,
    admin_broker: str,
    db: asyncpg.Connection,
    order_confirmed: Any,
) -> None:
    # The SMTP server gone for good: every delivery fails (a transient failure, retried)
    # until the third, after which the event waits in the dead letters instead of coming
    # back every RETRY_AFTER_SECONDS forever.
    worker = start_worker(smtp.url, MAX_DELIVERIES="3", RETRY_AFTER_SECONDS="1")
    worker.wait_ready()
    smtp.stop()
    event = order_confirmed()
    async with Publisher(orders_broker_url) as publisher:
        await publisher.publish(STREAM, event)

    async def one_letter() -> bool:
        return len(await dead_letters(admin_broker)) == 1

    await wait_until(one_letter, 60, "the event in the dead letters")
    [letter] = await dead_letters(admin_broker)
    assert Event.model_validate_json(letter[b"event"]).id == event.id
    assert letter[b"deliveries"] == b"3"
    assert letter[b"reason"].startswith(b"failed 3 deliveries; last: ")
    await wait_until(lambda: _zero(pending(admin_broker)), 30, "the event acked")
    assert await db.fetchval("SELECT count(*) FROM sent_mail") == 0


async def _zero(count: Any) -> bool:
    return bool(await count == 0)


async def test_smtp_down_the_event_waits_and_is_sent_when_it_is_back(
    start_worker: Any,
    smtp: SmtpServer,
    orders_broker_url: str,
    admin_broker: str,
    db: asyncpg.Connection,
    order_confirmed: Any,
) -> None:
    worker = start_worker(smtp.url, RETRY_AFTER_SECONDS="1")
    worker.wait_ready()
    smtp.stop()
    event = order_confirmed()
    async with Publisher(orders_broker_url) as publisher:
        await publisher.publish(STREAM, event)
    await wait_until(
        lambda: _contains(worker, "event handler failed"), 60, "the failed send to be logged"
    )
    assert await pending(admin_broker) == 1  # not acked
    assert await db.fetchval("SELECT count(*) FROM inbox") == 0  # not handled
    assert smtp.mailbox.messages == []

    smtp.start()  # back, on the same port: the pending event is claimed again and sent
    [mail] = await asyncio.to_thread(smtp.mailbox.wait_for, 1, 60)
    assert mail["Message-ID"] == f"<{event.id}@mail.mosaic.example>"
    await wait_until(lambda: _zero(pending(admin_broker)), 30, "the entry acked")
    assert await db.fetchval("SELECT count(*) FROM sent_mail") == 1


async def _contains(worker: WorkerProcess, text: str) -> bool:
    return text in worker.output()


async def test_two_workers_share_the_group_and_send_each_mail_once(
    start_worker: Any,
    smtp: SmtpServer,
    orders_broker_url: str,
    admin_broker: str,
    db: asyncpg.Connection,
    order_confirmed: Any,
) -> None:
    workers = [start_worker(smtp.url, name=f"w{n}") for n in range(2)]
    for worker in workers:
        worker.wait_ready()
    events = [order_confirmed() for _ in range(10)]
    async with Publisher(orders_broker_url) as publisher:
        for event in events:
            await publisher.publish(STREAM, event)
            await publisher.publish(STREAM, event)  # each one twice
    mails = await asyncio.to_thread(smtp.mailbox.wait_for, 10, 60)
    await wait_until(lambda: _zero(pending(admin_broker)), 30, "every entry acked")
    assert sorted(m["Message-ID"] for m in smtp.mailbox.messages) == sorted(
        f"<{e.id}@mail.mosaic.example>" for e in events
    )
    assert len(mails) == 10
    assert await db.fetchval("SELECT count(*) FROM sent_mail") == 10


def test_a_bad_setting_stops_the_worker_with_one_line(tmp_path: Path) -> None:
    env = worker_env(
        tmp_path, "postgresql://x:y@127.0.0.1:1/x", "redis://127.0.0.1:1", "http://mail"
    )
    result = subprocess.run(
        [sys.executable, "-m", "notifications"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 78
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("configuration error: SMTP_URL is invalid")
