"""`python -m accounts.relay`: the outbox relay process (see the Procfile).

Publishes the outbox (`outbox.Relay`) to `events:accounts` on BROKER_URL through
chassis.events and trims the stream (`chassis.events.StreamRetention`: entries every
consumer group has acknowledged, after EVENTS_RETENTION_SECONDS), as a chassis worker:
/healthz and /readyz on OPS_PORT (ready once Postgres and the broker answer), SIGTERM
finishes the batch in hand. As orders' relay.
"""

from __future__ import annotations

from chassis import Database, DatabaseSettings, ServiceSettings, load_settings
from chassis.events import BrokerSettings, Publisher, RetentionSettings, StreamRetention
from chassis.outbox import BrokerPublish, RelaySettings
from chassis.worker import Worker, serve_worker

from accounts.events import STREAM
from accounts.outbox import Relay


class AccountsRelaySettings(
    ServiceSettings, DatabaseSettings, BrokerSettings, RetentionSettings, RelaySettings
):
    pass


def relay_worker() -> Worker:
    settings = load_settings(AccountsRelaySettings)
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
