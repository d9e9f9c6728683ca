"""Events between services on Redis Streams: an envelope, a publisher, a consumer group.

A producer appends to its own stream, `events:<service>`, one entry per event with one
field, `event`, holding the JSON envelope. Consumers read it in a consumer group: each
entry goes to one consumer of the group, is acknowledged once its handler returned, and
stays pending otherwise, to be claimed again after `claim_idle_seconds` (by any consumer
of the group, itself included). Delivery is therefore at least once: handlers dedupe by
`Event.id`.

A delivery that keeps failing does not come back forever: after `max_deliveries` (counted
by the broker: XPENDING's times delivered) the entry is moved, with the reason, to the
producer's dead-letter stream `events:<producer>:dead` and acknowledged; so is at once an
entry that cannot be read (malformed) or whose handler raised `PermanentFailure`. The
operator lists and replays dead letters (`mosaic admin dead-letters`). The producer trims
its stream (`StreamRetention`) by age, but never past an entry some consumer group has not
acknowledged yet.

Built on redis-py's stream commands rather than FastStream (checked against 0.7.8): its
stream subscriber either reads new entries (XREADGROUP) or claims idle ones (XAUTOCLAIM,
one per call), never both; its claim-while-reading option needs Redis 8.4, which Valkey
lacks; it stops for good when the group is gone (NOGROUP) instead of recreating it; and it
wraps bodies in its own message format. The loop below is small and does all of that.

Long because the envelope, the publisher, the consumer group, the dead letters and the
retention all speak one wire format over one Redis client; apart, each would restate the
stream layout.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Self

import orjson
import redis.exceptions
import structlog
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.typing import EncodableT, FieldT

from chassis import metrics, tracing
from chassis.cache import reset_aware
from chassis.logs import get_logger

FIELD = "event"  # the stream entry's field with the JSON envelope
# Beside it, the trace context of the work that wrote the event (W3C traceparent), so the
# consumer's span continues that trace; a publisher's envelope has no unknown fields (a
# consumer reads past them: `_parse`).
TRACEPARENT = tracing.TRACEPARENT_FIELD
_log = get_logger("chassis.events")
# The broker is away (stopped, restarting, unreachable): back off and reconnect.
_UNAVAILABLE = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
    OSError,
)


DEAD_SUFFIX = ":dead"
DEAD_LETTERS_KEPT = 10_000  # about: a dead-letter stream is capped, oldest dropped first


def stream_of(service: str) -> str:
    """The stream a service publishes to, e.g. events:orders."""
    return f"events:{service}"


def dead_letters_of(stream: str) -> str:
    """Where a stream's undeliverable entries go, e.g. events:orders:dead."""
    return f"{stream}{DEAD_SUFFIX}"


class PermanentFailure(Exception):
    """Raised by a handler for an event no retry can help (e.g. data not as documented):
    the entry goes to the dead-letter stream at once, with this message as the reason."""


def _now() -> datetime:
    return datetime.now(UTC)


class Event(BaseModel):
    """The envelope of every event: `{"id", "type", "version", "occurred_at", "data"}`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z][A-Za-z0-9_.]*$")
    version: int = Field(ge=1)
    occurred_at: AwareDatetime = Field(default_factory=_now)
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("occurred_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)


class BrokerSettings(BaseSettings):
    """Mixin for services that publish or consume events."""

    broker_url: str = Field(
        validation_alias="BROKER_URL",
        description="a Redis URL of the event broker, e.g. redis://user:password@127.0.0.1:6379/0",
    )

    @field_validator("broker_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if value.split("://", 1)[0] not in {"redis", "rediss", "valkey", "valkeys"}:
            raise ValueError("expected a redis:// or rediss:// URL")
        return value


class RetentionSettings(BaseSettings):
    """Mixin for a producer's relay: how long its stream keeps what consumers acknowledged
    (events carry personal data: addresses, e-mail, one-time links)."""

    events_retention_seconds: float = Field(
        default=86_400.0,
        validation_alias="EVENTS_RETENTION_SECONDS",
        ge=0,
        le=90 * 86_400,
        description="how long a stream entry is kept once every consumer group has "
        "acknowledged it (seconds)",
    )
    events_trim_seconds: float = Field(
        default=60.0,
        validation_alias="EVENTS_TRIM_SECONDS",
        gt=0,
        le=86_400,
        description="how often the relay trims its stream (seconds)",
    )


class BrokerUnavailable(Exception):
    """The broker did not take the event (down, restarting, unreachable); try again later."""


def _client(url: str, read_timeout: float | None) -> Redis:
    return reset_aware(
        Redis.from_url(
            url.replace("valkey://", "redis://", 1).replace("valkeys://", "rediss://", 1),
            socket_connect_timeout=2,
            socket_timeout=read_timeout,
            socket_keepalive=True,
            health_check_interval=30,
            retry=Retry(NoBackoff(), 0),  # our callers back off and retry themselves
        )
    )


class Publisher:
    """Appends events to streams: `async with Publisher(url) as p: await p.publish(...)`.

    Also a chassis Resource ("broker"), so /readyz of a publishing process checks it.
    """

    name = "broker"

    def __init__(self, broker_url: str) -> None:
        self.url = broker_url
        # No length bound on XADD: it would drop entries consumers have not read yet.
        # A producer trims its stream by age with StreamRetention.
        self._client: Redis | None = None

    async def open(self) -> None:
        if self._client is None:
            self._client = _client(self.url, read_timeout=5)

    async def ping(self) -> None:
        await self._open_client().ping()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def publish(self, stream: str, event: Event, traceparent: str | None = None) -> str:
        """Append the event (with the trace it continues, if any); return its entry id.
        Raises BrokerUnavailable when the broker cannot be reached (the entry may or may
        not have been written)."""
        entry: dict[FieldT, EncodableT] = {FIELD: event.model_dump_json()}
        if traceparent:
            entry[TRACEPARENT] = traceparent
        try:
            entry_id = await self._open_client().xadd(stream, entry)
        except _UNAVAILABLE as error:
            raise BrokerUnavailable(f"cannot publish to {stream}: {error}") from error
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    async def __aenter__(self) -> Publisher:
        await self.open()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    def _open_client(self) -> Redis:
        if self._client is None:
            raise RuntimeError("Publisher is not open; use `async with` or open() first")
        return self._client


Handler = Callable[[Event], Awaitable[None]]


class Consumer:
    """One consumer of a consumer group on one stream; `await consumer.run()`.

    run() creates the group if missing (reading from the stream's start), first delivers
    what this consumer had in hand when it last stopped, then new entries; every
    `claim_idle_seconds / 2` it claims entries pending longer than `claim_idle_seconds`
    (a dead consumer's, or its own whose handler failed). It runs until cancelled or
    stop(), reconnecting with backoff while the broker is away. An entry whose handler
    failed `max_deliveries` times, raised PermanentFailure, or that is malformed is moved to
    the dead-letter stream (`dead_letters_of(stream)`) and acknowledged.

    Also a chassis Resource ("broker"), so a worker's /readyz checks the broker.
    """

    name = "broker"

    def __init__(
        self,
        broker_url: str,
        stream: str,
        group: str,
        consumer_name: str,
        handler: Handler,
        *,
        claim_idle_seconds: float = 30.0,
        max_deliveries: int = 5,
        batch: int = 10,
        block_seconds: float = 1.0,
        max_backoff_seconds: float = 5.0,
    ) -> None:
        self.url = broker_url
        self.stream = stream
        self.group = group
        self.consumer_name = consumer_name
        self.handler = handler
        self.claim_idle_ms = max(1, int(claim_idle_seconds * 1000))
        self.max_deliveries = max(1, max_deliveries)
        self.dead_letters = dead_letters_of(stream)
        self.batch = batch
        self.block_ms = max(1, int(block_seconds * 1000))
        self.max_backoff = max_backoff_seconds
        self.connected = False  # the group exists and the last command reached the broker
        self._client: Redis | None = None
        self._stopping = False
        self._service = metrics.service.get()  # the metrics' label; run() reads it again

    async def open(self) -> None:
        if self._client is None:
            # No read timeout: XREADGROUP's BLOCK bounds each read, and with redis-py 8 on
            # Python 3.11 a cancel that lands in its read-timeout context was sometimes
            # swallowed (the task went on reading, a shutdown hung). Keepalive catches a
            # silently dead peer instead.
            self._client = _client(self.url, read_timeout=None)

    async def ping(self) -> None:
        await self.open()
        assert self._client is not None
        await self._client.ping()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def stop(self) -> None:
        """Return from run() once the entry in hand is handled (within block_seconds)."""
        self._stopping = True

    async def run(self) -> None:
        await self.open()
        assert self._client is not None
        client, delay = self._client, 0.1
        self._service = metrics.service.get()
        metrics.watch(self, self._measure_lag)
        try:
            while not self._stopping:
                try:
                    await self._consume(client)
                except _UNAVAILABLE as error:
                    if self.connected:
                        _log.warning("broker unavailable", stream=self.stream, error=str(error))
                    self.connected = False
                    await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311 (jitter)
                    delay = min(self.max_backoff, delay * 2)
                    continue
                except redis.exceptions.ResponseError as error:
                    if "NOGROUP" not in str(error):
                        raise
                    _log.warning("consumer group gone; creating it again", stream=self.stream)
                    continue
                delay = 0.1
        finally:
            metrics.unwatch(self)
            self.connected = False

    async def _measure_lag(self) -> None:
        """The group's lag and pending entries, from one XINFO GROUPS (its `lag` needs
        Redis 7 or Valkey; None when the broker cannot tell, then the gauge is not set)."""
        if self._client is None:
            return
        groups: Any = await self._client.xinfo_groups(self.stream)
        for group in groups:
            if _text(group["name"]) != self.group:
                continue
            labels = (self._service, self.stream, self.group)
            metrics.stream_pending.labels(*labels).set(int(group["pending"]))
            if group.get("lag") is not None:
                metrics.stream_lag.labels(*labels).set(int(group["lag"]))

    async def _consume(self, client: Redis) -> None:
        await self._ensure_group(client)
        if not self.connected:
            _log.info("consuming", stream=self.stream, group=self.group)
        self.connected = True
        await self._read(client, "0")  # what this consumer had in hand before
        loop = asyncio.get_running_loop()
        next_claim = 0.0
        while not self._stopping:
            if loop.time() >= next_claim:
                await self._claim(client)
                next_claim = loop.time() + self.claim_idle_ms / 2000
            await self._read(client, ">")

    async def _ensure_group(self, client: Redis) -> None:
        try:
            await client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.exceptions.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def _read(self, client: Redis, start: str) -> None:
        """Deliver a batch; `0` re-reads this consumer's own pending entries (all of them),
        `>` waits up to block_ms for new ones."""
        while not self._stopping:
            reply: Any = await client.xreadgroup(
                self.group,
                self.consumer_name,
                {self.stream: start},
                count=self.batch,
                block=self.block_ms if start == ">" else None,
            )
            entries = _entries(reply)
            for entry_id, fields in entries:
                await self._deliver(client, entry_id, fields)
            if start == ">" or len(entries) < self.batch:
                return
            start = _after(entries[-1][0])

    async def _claim(self, client: Redis) -> None:
        start: bytes | str = "0-0"
        while not self._stopping:
            reply: Any = await client.xautoclaim(
                self.stream,
                self.group,
                self.consumer_name,
                min_idle_time=self.claim_idle_ms,
                start_id=start,
                count=self.batch,
            )
            next_start, entries = reply[0], _pairs(reply[1])
            for entry_id, fields in entries:
                _log.info("claimed an idle event", stream=self.stream, entry=_text(entry_id))
                await self._deliver(client, entry_id, fields)
            if next_start in (b"0-0", "0-0"):
                return
            start = next_start

    async def _deliver(
        self, client: Redis, entry_id: bytes, fields: dict[bytes, bytes] | None
    ) -> None:
        event = _parse(fields)
        entry = _text(entry_id)
        if event is None:
            if fields is not None:  # None: deleted from the stream meanwhile; nothing to keep
                await self._dead_letter(client, entry_id, fields, "malformed event", 1)
            await client.xack(self.stream, self.group, entry_id)
            return
        attributes = {"messaging.destination.name": self.stream, "mosaic.event_type": event.type}
        with (
            tracing.consumer_span(f"{self.stream} process", _traceparent(fields), attributes),
            structlog.contextvars.bound_contextvars(trace_id=tracing.current_trace_id()),
        ):
            await self._handle(client, entry_id, entry, event, fields)

    async def _handle(
        self,
        client: Redis,
        entry_id: bytes,
        entry: str,
        event: Event,
        fields: dict[bytes, bytes] | None,
    ) -> None:
        log = _log.bind(
            stream=self.stream, entry=entry, event_id=str(event.id), event_type=event.type
        )
        try:
            await self.handler(event)
        except PermanentFailure as failure:
            await self._dead_letter(client, entry_id, fields, str(failure), 1)
        except Exception as error:
            deliveries = await self._deliveries(client, entry_id)
            if deliveries < self.max_deliveries:
                log.exception(
                    "event handler failed; the event stays pending for another try",
                    deliveries=deliveries,
                )
                return
            log.exception("event handler failed too often", deliveries=deliveries)
            reason = f"failed {deliveries} deliveries; last: {type(error).__name__}: {error}"
            await self._dead_letter(client, entry_id, fields, reason, deliveries)
        await client.xack(self.stream, self.group, entry_id)

    async def _deliveries(self, client: Redis, entry_id: bytes) -> int:
        """How often the broker has delivered the entry to this group (this time included)."""
        pending: Any = await client.xpending_range(
            self.stream, self.group, min=entry_id, max=entry_id, count=1
        )
        return int(pending[0]["times_delivered"]) if pending else 1

    async def _dead_letter(
        self,
        client: Redis,
        entry_id: bytes,
        fields: dict[bytes, bytes] | None,
        reason: str,
        deliveries: int,
    ) -> None:
        """Keep the entry, as it was, with why it could not be handled; the caller acks it."""
        letter: dict[FieldT, EncodableT] = {
            "stream": self.stream,
            "group": self.group,
            "entry": _text(entry_id),
            "reason": reason[:1000],
            "deliveries": str(deliveries),
            "dead_at": _now().isoformat(),
        }
        raw = (fields or {}).get(FIELD.encode())
        if raw is not None:
            letter[FIELD] = raw
        await client.xadd(self.dead_letters, letter, maxlen=DEAD_LETTERS_KEPT, approximate=True)
        metrics.dead_letters.labels(self._service, self.stream).inc()
        _log.error(
            "event moved to the dead letters",
            stream=self.stream,
            entry=_text(entry_id),
            dead_letters=self.dead_letters,
            reason=reason[:200],
        )


Entry = tuple[bytes, dict[bytes, bytes] | None]  # None: the entry was deleted meanwhile


def _entries(reply: Any) -> list[Entry]:
    """The entries of an XREADGROUP reply on one stream (RESP2 list or RESP3 map)."""
    if not reply:
        return []
    streams = list(reply.values()) if isinstance(reply, dict) else [s[1] for s in reply]
    return _pairs(streams[0])


def _pairs(entries: Any) -> list[Entry]:
    return [(entry[0], entry[1]) for entry in entries or []]


def _parse(fields: dict[bytes, bytes] | None) -> Event | None:
    """The envelope as read: the fields it has now, and none a later envelope may add (a
    tolerant reader: a consumer that predates them reads on instead of dead-lettering)."""
    raw = (fields or {}).get(FIELD.encode())
    if raw is None:
        return None
    try:
        document = orjson.loads(raw)
        if not isinstance(document, dict):
            return None
        return Event.model_validate({k: v for k, v in document.items() if k in Event.model_fields})
    except (ValidationError, ValueError):
        return None


def _traceparent(fields: dict[bytes, bytes] | None) -> str | None:
    raw = (fields or {}).get(TRACEPARENT.encode())
    return raw.decode("latin-1") if raw else None


def _after(entry_id: bytes) -> str:
    """The smallest id after entry_id, to page through pending entries."""
    millis, seq = _text(entry_id).split("-")
    return f"{millis}-{int(seq) + 1}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


EntryId = tuple[int, int]


def _id(value: bytes | str) -> EntryId:
    millis, _, seq = _text(value).partition("-")
    return int(millis), int(seq or 0)


async def acknowledged_below(client: Redis, stream: str) -> EntryId | None:
    """The smallest entry id some consumer group may still need: below it every group has
    read and acknowledged everything. None when the stream has no group (nobody read it)."""
    groups: Any = await client.xinfo_groups(stream)
    if not groups:
        return None
    needed: list[EntryId] = []
    for group in groups:
        name, last = group["name"], _id(group["last-delivered-id"])
        needed.append((last[0], last[1] + 1))  # delivered up to `last`...
        if int(group["pending"]):  # ...but some of it not acknowledged yet
            summary: Any = await client.xpending(stream, name)
            needed.append(_id(summary["min"]))
    return min(needed)


async def trim(client: Redis, stream: str, *, max_age_seconds: float) -> int:
    """Drop the entries older than max_age_seconds that every consumer group has
    acknowledged; how many went. By age only: a length bound would need the producer to
    read its stream (XREVRANGE), which its ACL does not allow."""
    safe = await acknowledged_below(client, stream)
    if safe is None:
        return 0
    now_ms = int(_now().timestamp() * 1000)
    target = min((max(0, now_ms - int(max_age_seconds * 1000)), 0), safe)
    if target <= (0, 0):
        return 0
    removed: Any = await client.xtrim(stream, minid=f"{target[0]}-{target[1]}", approximate=False)
    return int(removed)


class StreamRetention:
    """A producer's loop (`run` until `stop`, as chassis.worker runs them): trims its stream
    every `every_seconds` (see `trim`): personal data in events lives no longer than
    `max_age_seconds` or until the slowest consumer group has acknowledged it, whichever
    comes later. Also a chassis Resource-free loop: it needs no readiness of its own."""

    def __init__(
        self,
        broker_url: str,
        stream: str,
        *,
        max_age_seconds: float,
        every_seconds: float = 60.0,
    ) -> None:
        self.url = broker_url
        self.stream = stream
        self.max_age_seconds = max_age_seconds
        self.every_seconds = every_seconds
        self._stopping = asyncio.Event()

    @classmethod
    def configured(cls, settings: RetentionSettings, broker_url: str, stream: str) -> Self:
        return cls(
            broker_url,
            stream,
            max_age_seconds=settings.events_retention_seconds,
            every_seconds=settings.events_trim_seconds,
        )

    async def run(self) -> None:
        client = _client(self.url, read_timeout=5)
        try:
            while not self._stopping.is_set():
                await self.trim_once(client)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.every_seconds)
        finally:
            await client.aclose()

    async def trim_once(self, client: Redis) -> int:
        try:
            removed = await trim(client, self.stream, max_age_seconds=self.max_age_seconds)
        except _UNAVAILABLE as error:
            _log.warning(
                "stream not trimmed: broker unavailable", stream=self.stream, error=str(error)
            )
            return 0
        except redis.exceptions.RedisError as error:
            if "no such key" not in str(error).lower():  # else: nothing published yet
                # Trimming can wait; the producer's own work (publishing) must not stop.
                _log.warning("stream not trimmed", stream=self.stream, error=str(error))
            return 0
        if removed:
            _log.info("stream trimmed", stream=self.stream, removed=removed)
        return removed

    def stop(self) -> None:
        self._stopping.set()
