"""`python -m accounts.relay`: the outbox relay process (see the Procfile).

Publishes the outbox (`outbox.Relay`) to `events:accounts` on BROKER_URL through
chassis.events and trims the stream (`chassis.events.StreamRetention`: entries every
consumer group has acknowledged, after EVENTS_RETENTION_SECONDS), as a chassis worker:
/healthz and /readyz on OPS_PORT (ready once Postgres and the broker answer), SIGTERM
finishes the batch in hand. As orders' relay.
"""

from __future__ import annotations

from typing import Any

from chassis import Database, DatabaseSettings, ServiceSettings, load_settings
from chassis.events import (
    BrokerSettings,
    Event,
    Publisher,
    RetentionSettings,
    StreamRetention,
)
from chassis.worker import Worker, serve_worker
from pydantic import Field

from accounts.events import STREAM
from accounts.outbox import Relay


class RelaySettings(ServiceSettings, DatabaseSettings, BrokerSettings, RetentionSettings):
    relay_batch: int = Field(
        default=100, validation_alias="RELAY_BATCH", ge=1, le=1000, description="1..1000"
    )
    relay_poll_seconds: float = Field(
        default=0.5,
        validation_alias="RELAY_POLL_SECONDS",
        gt=0,
        le=60,
        description="how often to look for new events when the outbox is empty (seconds)",
    )


class BrokerPublish:
    """`outbox.Publish` over chassis.events' Publisher."""

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher

    async def __call__(self, stream: str, envelope: dict[str, Any]) -> None:
        await self.publisher.publish(stream, Event.model_validate(envelope))


def relay_worker() -> Worker:
    settings = load_settings(RelaySettings)
    database = Database(settings.database_url, pool_size=2)
    publisher = Publisher(settings.broker_url)
    relay = Relay(
        database,
        BrokerPublish(publisher),
        batch=settings.relay_batch,
        poll_seconds=settings.relay_poll_seconds,
    )
    # The stream holds each link's token until trimmed: keep it no longer than the link
    # lives (ACCOUNTS_VERIFICATION_HOURS, a day by default) once notifications has it.
    retention = StreamRetention.configured(settings, settings.broker_url, STREAM)
    return Worker(settings, [relay, retention], [database, publisher])


if __name__ == "__main__":
    serve_worker(relay_worker)
