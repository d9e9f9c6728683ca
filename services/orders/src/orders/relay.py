"""`python -m orders.relay`: the outbox relay process (see the Procfile).

Publishes the outbox (`outbox.Relay`) to `events:orders` on BROKER_URL through
chassis.events, deletes published rows after OUTBOX_RETENTION_SECONDS, and trims the
stream (`chassis.events.StreamRetention`: entries every consumer group has acknowledged,
after EVENTS_RETENTION_SECONDS), as a chassis worker: /healthz and /readyz on OPS_PORT
(ready once Postgres and the broker answer), SIGTERM finishes the batch in hand.
"""

from __future__ import annotations

from chassis import Database, load_settings
from chassis.outbox import Publish, RelayProcessSettings, relay_process
from chassis.worker import Worker, serve_worker
from pydantic import Field

from orders.events import STREAM
from orders.outbox import MAX_ATTEMPTS, RETENTION_SECONDS, Relay


class OrdersRelaySettings(RelayProcessSettings):
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


def relay_worker() -> Worker:
    settings = load_settings(OrdersRelaySettings)

    def relay(database: Database, publish: Publish) -> Relay:
        return Relay(
            database,
            publish,
            batch=settings.relay_batch,
            poll_seconds=settings.relay_poll_seconds,
            max_attempts=settings.relay_max_attempts,
            retention_seconds=settings.outbox_retention_seconds,
        )

    return relay_process(settings, relay, STREAM)


if __name__ == "__main__":
    serve_worker(relay_worker)
