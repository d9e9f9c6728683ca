"""`python -m accounts.relay`: the outbox relay process (see the Procfile).

Publishes the outbox (`outbox.Relay`) to `events:accounts` on BROKER_URL through
chassis.events and trims the stream (`chassis.events.StreamRetention`: entries every
consumer group has acknowledged, after EVENTS_RETENTION_SECONDS), as a chassis worker:
/healthz and /readyz on OPS_PORT (ready once Postgres and the broker answer), SIGTERM
finishes the batch in hand. As orders' relay.
"""

from __future__ import annotations

from chassis import Database, load_settings
from chassis.outbox import Publish, RelayProcessSettings, relay_process
from chassis.worker import Worker, serve_worker

from accounts.events import STREAM
from accounts.outbox import Relay


def relay_worker() -> Worker:
    """The relay process; orders' reads like it, with its own settings and Relay (each
    service's outbox is its own table, so each builds its own relay)."""
    settings = load_settings(RelayProcessSettings)

    def relay(database: Database, publish: Publish) -> Relay:
        return Relay(
            database,
            publish,
            batch=settings.relay_batch,
            poll_seconds=settings.relay_poll_seconds,
        )

    # The stream holds each link's token until trimmed, EVENTS_RETENTION_SECONDS after
    # notifications acknowledged it; keep that no longer than ACCOUNTS_VERIFICATION_HOURS
    # (both a day by default) so no stream entry outlives its link by much.
    return relay_process(settings, relay, STREAM)


if __name__ == "__main__":
    serve_worker(relay_worker)
