"""`python -m orders.relay`: the outbox relay process (see the Procfile).

Publishes the outbox (`outbox.Relay`) to `events:orders` on BROKER_URL through
chassis.events, deletes published rows after OUTBOX_RETENTION_SECONDS, and trims the
stream (`chassis.events.StreamRetention`: entries every consumer group has acknowledged,
after EVENTS_RETENTION_SECONDS), as a chassis worker: /healthz and /readyz on OPS_PORT
(ready once Postgres and the broker answer), SIGTERM finishes the batch in hand.
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
from pydantic import Field, ValidationError

from orders.events import STREAM
from orders.outbox import MAX_ATTEMPTS, RETENTION_SECONDS, Relay, Unpublishable


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
    relay_max_attempts: int = Field(
        default=MAX_ATTEMPTS,
        validation_alias="RELAY_MAX_ATTEMPTS",
        ge=1,
        le=1000,
        description="tries of an outbox event that cannot be published before it is set "
        "aside for the operator (`mosaic admin dead-letters`)",
    )
    outbox_retention_seconds: float = Field(
        default=RETENTION_SECONDS,
        validation_alias="OUTBOX_RETENTION_SECONDS",
        ge=0,
        le=90 * 86_400,
        description="how long a published outbox row (it holds the shopper's address and "
        "e-mail) is kept (seconds)",
    )


class BrokerPublish:
    """`outbox.Publish` over chassis.events' Publisher."""

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher

    async def __call__(self, stream: str, envelope: dict[str, Any]) -> None:
        try:
            event = Event.model_validate(envelope)
        except ValidationError as error:
            raise Unpublishable(f"not an event: {error.error_count()} errors") from error
        await self.publisher.publish(stream, event)


def relay_worker() -> Worker:
    settings = load_settings(RelaySettings)
    database = Database(settings.database_url, pool_size=2)
    publisher = Publisher(settings.broker_url)
    relay = Relay(
        database,
        BrokerPublish(publisher),
        batch=settings.relay_batch,
        poll_seconds=settings.relay_poll_seconds,
        max_attempts=settings.relay_max_attempts,
        retention_seconds=settings.outbox_retention_seconds,
    )
    retention = StreamRetention.configured(settings, settings.broker_url, STREAM)
    return Worker(settings, [relay, retention], [database, publisher])


if __name__ == "__main__":
    serve_worker(relay_worker)
