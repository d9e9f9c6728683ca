"""chassis.events against a real Valkey: publish, consume in a group, redelivery, claims,
malformed entries, and a broker that restarts mid-run."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
from chassis import metrics, tracing
from chassis.events import (
    Consumer,
    Event,
    Handler,
    PermanentFailure,
    Publisher,
    StreamRetention,
    dead_letters_of,
    stream_of,
    trim,
)
from chassis.outbox import BrokerPublish
from mosaic.backing import BackingServers, EmbeddedValkey
from mosaic.children import popen_kwargs, stop_sync
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pydantic import ValidationError
from structlog.contextvars import get_contextvars

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


async def until_holds(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """`until`, for a check that asks the broker."""
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {TIMEOUT:g} s: {what}")
        await asyncio.sleep(0.05)


async def no_pending(admin: aioredis.Redis, stream: str) -> None:
    """Every entry of the stream read by the group and acknowledged. Both: "nothing
    pending" alone holds also before the consumer has read anything."""

    async def all_read_and_acknowledged() -> bool:
        last = (await admin.xinfo_stream(stream))["last-generated-id"]
        groups: Any = await admin.xinfo_groups(stream)
        group = next(g for g in groups if g["name"] in ("g", b"g"))
        return bool(group["last-delivered-id"] == last and group["pending"] == 0)

    try:
        await until_holds(all_read_and_acknowledged, "every entry read and acknowledged")
    except AssertionError:
        raise AssertionError(f"{await pending(admin, stream)} entries still pending") from None


def claim_passes(consumer: Consumer, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """When each of the consumer's claim passes from now on began (loop time), recorded
    once the pass is over: a pass claims and delivers what has been pending too long."""
    began: list[float] = []
    claim = consumer._claim

    async def recorded(client: Any) -> None:
        start = asyncio.get_running_loop().time()
        await claim(client)
        began.append(start)

    monkeypatch.setattr(consumer, "_claim", recorded)
    return began


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
    first: Any = await admin.xrange(stream, count=1)
    entry = first[0][1]
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


async def test_an_envelope_with_fields_it_does_not_know_is_read_not_dead_lettered(
    url: str, stream: str, admin: aioredis.Redis, start: Start
) -> None:
    """A tolerant reader: a later envelope may carry more (a schema URL, a producer's
    name); a consumer that predates those fields reads the event as it knows it."""
    later = order_event(7).model_dump(mode="json") | {"schema": "x.v1.json", "producer": "p"}
    await admin.xadd(stream, {"event": orjson.dumps(later)})
    recorder = Recorder()
    await start(recorder)
    await until(lambda: recorder.numbers == [7], "the event with unknown envelope fields")
    await no_pending(admin, stream)
    assert await letters(admin, stream) == []
    assert recorder.seen[0].id == uuid.UUID(later["id"])


async def letters(admin: aioredis.Redis, stream: str) -> list[dict[bytes, bytes]]:
    entries: Any = await admin.xrange(dead_letters_of(stream))
    return [fields for _, fields in entries]


async def test_malformed_entries_are_kept_in_the_dead_letters(
    url: str, stream: str, admin: aioredis.Redis, start: Start
) -> None:
    await admin.xadd(stream, {"event": "not json"})
    await admin.xadd(stream, {"other": "field"})
    recorder = Recorder()
    await start(recorder)

    # Wait on the letters themselves, then on the entries read and acknowledged.
    async def both_kept() -> bool:
        return len(await letters(admin, stream)) == 2

    await until_holds(both_kept, "both malformed entries dead-lettered")
    await no_pending(admin, stream)
    kept = await letters(admin, stream)
    assert [letter[b"reason"] for letter in kept] == [b"malformed event"] * 2
    assert kept[0][b"event"] == b"not json" and b"event" not in kept[1]
    assert {letter[b"stream"] for letter in kept} == {stream.encode()}


async def test_an_event_whose_handler_keeps_failing_is_dead_lettered_after_max_deliveries(
    url: str, stream: str, admin: aioredis.Redis, start: Start
) -> None:
    tries: list[int] = []

    async def always_fails(event: Event) -> None:
        tries.append(event.data["n"])
        if event.data["n"] == 1:
            raise RuntimeError("the mail server is gone")

    await start(always_fails, claim_idle_seconds=0.2, max_deliveries=3)
    async with Publisher(url) as publisher:
        await publisher.publish(stream, order_event(1))
        await publisher.publish(stream, order_event(2))  # a later event is not held up

    async def dead() -> bool:
        return len(await letters(admin, stream)) == 1

    await until_holds(dead, "the failing event dead-lettered")
    [letter] = await letters(admin, stream)
    assert letter[b"reason"] == b"failed 3 deliveries; last: RuntimeError: the mail server is gone"
    assert (letter[b"deliveries"], letter[b"group"]) == (b"3", b"g")
    assert Event.model_validate_json(letter[b"event"]).data == {"n": 1}
    await no_pending(admin, stream)
    assert tries.count(1) == 3 and tries.count(2) == 1


async def test_a_permanent_failure_is_dead_lettered_at_once(
    url: str, stream: str, admin: aioredis.Redis, start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    tries: list[Event] = []

    async def refuses(event: Event) -> None:
        tries.append(event)
        raise PermanentFailure("no handler for OrderConfirmed version 9")

    idle = 0.2
    consumer, _ = await start(refuses, claim_idle_seconds=idle)
    passes = claim_passes(consumer, monkeypatch)
    async with Publisher(url) as publisher:
        await publisher.publish(stream, order_event(1))
    await until(lambda: len(tries) == 1, "the event handled")
    handled = asyncio.get_running_loop().time()
    await no_pending(admin, stream)
    [letter] = await letters(admin, stream)
    assert letter[b"reason"] == b"no handler for OrderConfirmed version 9"
    assert letter[b"deliveries"] == b"1"
    # No redelivery follows: a claim pass that began once the entry, were it still
    # pending, had been idle long enough to be claimed, has ended without delivering it.
    await until(lambda: any(t > handled + idle for t in passes), "a claim pass after idle")
    assert len(tries) == 1


async def test_the_stream_is_trimmed_by_age_only_below_what_every_group_acknowledged(
    url: str, stream: str, admin: aioredis.Redis
) -> None:
    async with Publisher(url) as publisher:
        ids = [await publisher.publish(stream, order_event(n)) for n in range(5)]
    # No group yet: nobody has read anything, nothing goes.
    assert await trim(admin, stream, max_age_seconds=0) == 0
    await admin.xgroup_create(stream, "fast", id="0")
    await admin.xgroup_create(stream, "slow", id="0")
    await admin.xreadgroup("fast", "f", {stream: ">"})
    await admin.xack(stream, "fast", *ids)
    await admin.xreadgroup("slow", "s", {stream: ">"}, count=3)
    await admin.xack(stream, "slow", ids[0], ids[2])  # ids[1] still pending; 3, 4 unread
    assert await trim(admin, stream, max_age_seconds=3600) == 0  # all younger than an hour
    assert await trim(admin, stream, max_age_seconds=0) == 1  # only below the pending one
    assert await entry_ids(admin, stream) == ids[1:]
    await admin.xack(stream, "slow", ids[1])
    assert await trim(admin, stream, max_age_seconds=0) == 2  # up to what slow has read
    assert await entry_ids(admin, stream) == ids[3:]


async def test_stream_retention_trims_as_a_loop_and_waits_for_a_stream(
    url: str, stream: str, admin: aioredis.Redis
) -> None:
    retention = StreamRetention(url, stream, max_age_seconds=0, every_seconds=0.05)
    task = asyncio.create_task(retention.run())  # no stream yet: nothing to do, no crash
    async with Publisher(url) as publisher:
        ids = [await publisher.publish(stream, order_event(n)) for n in range(3)]
    await admin.xgroup_create(stream, "g", id="0")
    await admin.xreadgroup("g", "c", {stream: ">"})
    await admin.xack(stream, "g", *ids[:2])

    async def trimmed() -> bool:
        return await entry_ids(admin, stream) == ids[2:]

    await until_holds(trimmed, "the loop trimmed what the group acknowledged")
    assert await entry_ids(admin, stream) == ids[2:]  # the pending one stays
    retention.stop()
    await asyncio.wait_for(task, 5)


async def entry_ids(admin: aioredis.Redis, stream: str) -> list[str]:
    entries: Any = await admin.xrange(stream)
    return [entry[0].decode() for entry in entries]


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


def sample(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


async def test_dead_letters_are_counted_and_the_group_s_backlog_is_measured(
    url: str, stream: str, start: Start
) -> None:
    """Lag and pending from XINFO GROUPS at scrape time; a dead letter counted as moved."""
    token = metrics.service.set("shop")
    held = asyncio.Event()
    tries: list[Event] = []

    async def slow_then_refuses(event: Event) -> None:
        tries.append(event)
        await held.wait()
        raise PermanentFailure("not today")

    try:
        consumer, _ = await start(slow_then_refuses, batch=1)
    finally:
        metrics.service.reset(token)
    labels = {"service": "shop", "stream": stream, "group": "g"}
    dead = sample("mosaic_dead_letters_total", service="shop", stream=stream)
    async with Publisher(url) as publisher:
        for n in range(3):
            await publisher.publish(stream, order_event(n))
    await until(lambda: len(tries) == 1, "the first event in hand")
    await consumer._measure_lag()  # what a scrape runs (at most every few seconds)
    # One read and in hand (pending), two not read yet (lag).
    assert sample("mosaic_stream_pending_entries", **labels) == 1
    assert sample("mosaic_stream_consumer_lag_entries", **labels) == 2

    held.set()
    await until(lambda: len(tries) == 3, "every event handled")

    def counted() -> float:
        return sample("mosaic_dead_letters_total", service="shop", stream=stream) - dead

    await until(lambda: counted() == 3, "three dead letters counted")
    await consumer._measure_lag()
    assert sample("mosaic_stream_pending_entries", **labels) == 0
    assert sample("mosaic_stream_consumer_lag_entries", **labels) == 0


async def test_the_trace_goes_through_the_stream_to_the_consumers_span(
    spans: InMemorySpanExporter, url: str, stream: str, admin: aioredis.Redis, start: Start
) -> None:
    """The work that wrote the event → the relay's publish span (its XADD inside) → the
    stream entry's `traceparent` → the consumer's span, whose handler logs that trace."""
    handled: list[tuple[str, Any]] = []

    async def handler(event: Event) -> None:
        handled.append((tracing.current_trace_id(), get_contextvars().get("trace_id")))

    await start(handler)
    with tracing.span("checkout") as checkout:
        written = tracing.current_traceparent()
    async with Publisher(url) as publisher:
        await BrokerPublish(publisher)(stream, order_event().model_dump(mode="json"), written)
        await publisher.publish(stream, order_event(1))  # an event written outside any trace
    await until(lambda: len(handled) == 2, "both events handled")

    trace_id = checkout.get_span_context().trace_id
    assert handled[0] == (f"{trace_id:032x}", f"{trace_id:032x}")
    assert handled[1][0] != f"{trace_id:032x}"  # its own trace
    first: Any = await admin.xrange(stream, count=1)
    assert set(first[0][1]) == {b"event", b"traceparent"}

    finished = spans.get_finished_spans()
    [publish] = [s for s in finished if s.kind is SpanKind.PRODUCER]
    consumed = [s for s in finished if s.kind is SpanKind.CONSUMER]
    [xadd] = [s for s in finished if s.name == "XADD"]
    assert (
        publish.parent is not None and publish.parent.span_id == checkout.get_span_context().span_id
    )
    assert xadd.parent is not None and xadd.parent.span_id == publish.context.span_id
    in_trace = [s for s in consumed if s.context.trace_id == trace_id]
    assert len(in_trace) == 1 and in_trace[0].parent is not None
    assert in_trace[0].parent.span_id == publish.context.span_id
    # The consumer's blocking reads, outside any event, are no traces of their own.
    assert not [s for s in finished if s.kind is SpanKind.CLIENT and s.parent is None]
