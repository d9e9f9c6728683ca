"""Wiring: settings, Postgres, the SMTP server and the consumers of `events:orders` and
`events:accounts` (one handler per stream)."""

from __future__ import annotations

import os
import socket

from chassis import Database, load_settings
from chassis.events import Consumer, stream_of
from chassis.worker import Worker

from notifications.account_mail import AccountMail
from notifications.handler import Notifier
from notifications.mailer import SmtpMailer
from notifications.settings import NotificationsSettings
from notifications.smtp_check import SmtpServer

GROUP = "notifications"  # the consumer group: each event reaches one of our processes
STREAMS = ("orders", "accounts")  # whose events we read; [tool.mosaic] consumes says the same


def consumer_name(settings: NotificationsSettings) -> str:
    """Unique per process, so a dead process's pending events are claimed by the living."""
    return settings.consumer_name or f"{socket.gethostname()}-{os.getpid()}"


def create_worker(settings: NotificationsSettings | None = None) -> Worker:
    settings = settings or load_settings(NotificationsSettings)
    database = Database(settings.database_url, pool_size=settings.database_pool_size)
    mailer = SmtpMailer(settings.smtp, timeout=settings.smtp_timeout_seconds)
    notifier = Notifier(database, mailer, shop_url=settings.shop_url, sender=settings.mail_from)
    account_mail = AccountMail(
        database, mailer, shop_url=settings.shop_url, sender=settings.mail_from
    )
    handlers = {"orders": notifier.handle, "accounts": account_mail.handle}
    consumers = [
        Consumer(
            settings.broker_url,
            stream_of(producer),
            GROUP,
            consumer_name(settings),
            handlers[producer],
            claim_idle_seconds=settings.retry_after_seconds,
            max_deliveries=settings.max_deliveries,
        )
        for producer in STREAMS
    ]
    return Worker(
        settings=settings,
        loops=consumers,
        resources=[
            database,
            SmtpServer(
                settings.smtp, timeout=min(5.0, settings.smtp_timeout_seconds), mailer=mailer
            ),
            *consumers,
        ],
    )
