"""chassis.events against a real Valkey: publish, consume in a group, redelivery, claims,
malformed entries, and a broker that restarts mid-run."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from chassis.events import Consumer, Event, Handler, Publisher, stream_of
from mosaic.backing import BackingServers, EmbeddedValkey
from mosaic.children import popen_kwargs, stop_sync
from pydantic import ValidationError

TIMEOUT = 30.0  # generous: the machine is shared


async def until(check: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        await asyncio.sleep(0.05)


def order_event(n: int = 0) -> Event:
    return Event(type="OrderConfirmed", version=1, data={"n": n})


class Recorder:
    """A handler that records what it got; fails the first `fail` deliveries of any event."""

    def __init__(self, fail: int = 0) -> None:
        self.seen: list[Event] = []
        self.failures_left = fail

    async def __call__(self, event: Event) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("handler failed on purpose")
        self.seen.append(event)

    @property
    def numbers(self) -> list[int]:
        return [e.data["n"] for e in self.seen]


@pytest.fixture
def url(backing: BackingServers) -> str:
    return backing.admin_redis_url


@pytest.fixture
def stream() -> str:
    return stream_of(f"t{uuid.uuid4().hex[:12]}")


@pytest.fixture
async def admin(url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(url)
    yield client
    await client.aclose()


Start = Callable[..., Awaitable[tuple[Consumer, "asyncio.Task[None]"]]]


@pytest.fixture
async def start(url: str, stream: str) -> AsyncIterator[Start]:
    running: list[tuple[Consumer, asyncio.Task[None]]] = []

    async def starting(
        handler: Handler, name: str = "c1", broker_url: str = url, **options: float
    ) -> tuple[Consumer, asyncio.Task[None]]:
        consumer = Consumer(broker_url, stream, "g", name, handler, **options)  # type: ignore[arg-type]
        task = asyncio.create_task(consumer.run())
        running.append((consumer, task))
        await until(lambda: consumer.connected, f"{name} connected")
        return consumer, task

    yield starting
    for consumer, task in running:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await consumer.close()


async def pending(admin: aioredis.Redis, stream: str) -> int:
    summary = await admin.xpending(stream, "g")
    return int(summary["pending"])


async def no_pending(admin: aioredis.Redis, stream: str) -> None:
    """Every entry acknowledged (the ack follows the handler's return by a moment)."""
    for _ in range(200):
        if await pending(admin, stream) == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{await pending(admin, stream)} entries still pending")


def test_the_envelope_is_versioned_typed_and_utc() -> None:
    event = Event(type="OrderConfirmed", version=1, data={"order_id": "x"})
    assert isinstance(event.id, uuid.UUID)
    assert event.occurred_at.tzinfo is not None
    again = Event.model_validate_json(event.model_dump_json())
    assert again == event
    berlin = datetime(2030, 1, 1, 12, tzinfo=timezone(timedelta(hours=1)))
    assert Event(type="X", version=1, occurred_at=berlin).occurred_at.hour == 11
    assert Event(type="X", version=1, occurred_at=berlin).occurred_at.tzinfo == UTC
    for bad in (
        {"type": "X", "version": 1, "occurred_at": datetime(2030, 1, 1)},  # naive
        {"type": "X", "version": 0},
        {"type": "", "version": 1},
        {"type": "X", "version": 1, "surprise": True},
    ):
        with pytest.raises(ValidationError):
            Event.model_validate(bad)


async def test_published_events_are_consumed_in_order_and_acked(
    url: str, stream: str, admin: aioredis.Redis, start: Start
) -> None:
    async with Publisher(url) as publisher:
        ids = [await publisher.publish(stream, order_event(n)) for n in range(3)]
    assert len(set(ids)) == 3
    entry = (await admin.xrange(stream, count=1))[0][1]
    assert set(entry) == {b"event"}  # one field: the JSON envelope
    assert Event.model_validate_json(entry[b"event"]).data == {"n": 0}

    recorder = Recorder()
    await start(recorder)  # a group created after publishing still gets everything
    await until(lambda: recorder.numbers == [0, 1, 2], "three events handled")
    async with Publisher(url) as publisher:
        await publisher.publish(stream, order_event(3))
    await until(lambda: recorder.numbers == [0, 1, 2, 3], "a fourth event handled")
    await no_pending(admin, stream)


async def test_a_failed_handler_leaves_the_event_pending_until_it_is_claimed_again(
    url: str, stream: str, admin: aioredis.Redis, start: Start
) -> None:
    recorder = Recorder(fail=2)
    await start(recorder, claim_idle_seconds=0.3)
    async with Publisher(url) as publisher:
        event = order_event(7)
        await publisher.publish(stream, event)
    await until(lambda: recorder.seen == [event], "the event handled on the third try")
    assert recorder.failures_left == 0
    await no_pending(admin, stream)


async def test_a_dead_consumers_events_are_claimed_by_another_or_by_itself_restarted(
    url: str, stream: str, admin: aioredis.Redis, start: Start
) -> None:
    stuck = asyncio.Event()

    async def dies(_: Event) -> None:
        stuck.set()
        await asyncio.Event().wait()  # never returns: the process is about to die

    _, task = await start(dies, name="dying")
    async with Publisher(url) as publisher:
        await publisher.publish(stream, order_event(1))
    await until(stuck.is_set, "the first consumer took the event")
    task.cancel()  # dies with the event in hand: pending, unacknowledged
    await asyncio.gather(task, return_exceptions=True)
    assert await pending(admin, stream) == 1

    other = Recorder()
    _, other_task = await start(other, name="other", claim_idle_seconds=0.5)
    await until(lambda: other.numbers == [1], "another consumer claimed it")
    await no_pending(admin, stream)
    other_task.cancel()

    # Its own event, after a restart under the same name, comes back at once.
    _, task = await start(dies, name="again")
    stuck.clear()
    async with Publisher(url) as publisher:
        await publisher.publish(stream, order_event(2))
    await until(stuck.is_set, "the consumer took the second event")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    restarted = Recorder()
    await start(restarted, name="again", claim_idle_seconds=600)
    await until(lambda: restarted.numbers == [2], "the restarted consumer got its own event")


async def test_malformed_entries_are_acknowledged_and_skipped(
    url: str, stream: str, admin: aioredis.Redis, start: Start
) -> None:
    await admin.xadd(stream, {"other": "field"})
    await admin.xadd(stream, {"event": "not json"})
    await admin.xadd(stream, {"event": '{"type": "X"}'})
    await admin.xadd(stream, {"event": b"\xff\xfe"})
    recorder = Recorder()
    await start(recorder)
    async with Publisher(url) as publisher:
        await publisher.publish(stream, order_event(5))
    await until(lambda: recorder.numbers == [5], "the good event after the bad ones")
    await no_pending(admin, stream)


@pytest.fixture
def own_valkey(tmp_path: Path) -> Iterator[EmbeddedValkey]:
    server = EmbeddedValkey(tmp_path / "valkey", "pw-" + uuid.uuid4().hex)
    server.prepare()
    yield server


def run_valkey(server: EmbeddedValkey) -> subprocess.Popen[bytes]:
    command = server.command()
    return subprocess.Popen(
        command.argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, **popen_kwargs(command)
    )


async def wait_valkey(server: EmbeddedValkey) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while not await server.ping():
        assert loop.time() < deadline, "valkey did not start"
        await asyncio.sleep(0.05)


async def test_the_consumer_rides_out_a_broker_restart(
    own_valkey: EmbeddedValkey, stream: str, start: Start
) -> None:
    url = own_valkey.admin_url
    process = run_valkey(own_valkey)
    try:
        await wait_valkey(own_valkey)
        recorder = Recorder()
        consumer, _ = await start(recorder, broker_url=url, max_backoff_seconds=0.5)
        async with Publisher(url) as publisher:
            await publisher.publish(stream, order_event(1))
        await until(lambda: recorder.numbers == [1], "handled before the restart")
        admin = aioredis.Redis.from_url(url)
        await no_pending(admin, stream)  # else it comes again: at least once
        await admin.aclose()

        await asyncio.to_thread(stop_sync, process.pid, own_valkey.command(), process.poll)
        await until(lambda: not consumer.connected, "the consumer noticed")
        await asyncio.sleep(1)  # it keeps retrying, quietly
        assert not consumer.connected

        process = run_valkey(own_valkey)
        await wait_valkey(own_valkey)
        async with Publisher(url) as publisher:
            await publisher.publish(stream, order_event(2))
        await until(lambda: recorder.numbers == [1, 2], "handled after the restart")
        assert consumer.connected
    finally:
        await asyncio.to_thread(stop_sync, process.pid, own_valkey.command(), process.poll)


async def test_publishing_to_an_absent_broker_says_so(own_valkey: EmbeddedValkey) -> None:
    from chassis.events import BrokerUnavailable

    async with Publisher(own_valkey.admin_url) as publisher:
        with pytest.raises(BrokerUnavailable, match="cannot publish to events:x"):
            await publisher.publish("events:x", order_event())
