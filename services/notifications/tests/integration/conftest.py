"""notifications on real Postgres (migrated by its own release command) sending through a
real SMTP server: an aiosmtpd server in the test, on a free port, keeping what it receives.

Every test starts with an empty inbox and sent-mail log.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from chassis import Database
from chassis.testing.plugin import TestedService, service_fixtures
from mosaic.ports import free_port
from notifications.handler import Notifier
from notifications.mailer import SmtpMailer
from notifications.settings import parse_smtp_url

SERVICE_DIR = Path(__file__).resolve().parents[2]
SHOP = "http://127.0.0.1:8080"


def _tested() -> TestedService:
    return TestedService("notifications", SERVICE_DIR, tables="inbox CASCADE")


tested_service, keys, database_url, alembic = service_fixtures(_tested())


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url, pool_size=10)
    await db.open()
    yield db
    await db.close()


@pytest.fixture(autouse=True)
def empty_inbox(emptied_tables: None) -> None:
    """Every test starts with an empty inbox and sent-mail log."""


class Mailbox:
    """aiosmtpd handler: keeps every accepted message; can be slowed down or refuse."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refused: set[str] = set()  # recipients answered 550
        self.data_delay = 0.0  # seconds before answering DATA
        self.reply_delay = 0.0  # seconds between keeping a message and saying so (250)
        self.noop_reply = "250 OK"  # e.g. "421 ...": a server going away
        self.peers: list[object] = []  # the connection each message came on (its peer)
        self.changed = threading.Condition()

    async def handle_NOOP(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, arg: str
    ) -> str:
        return self.noop_reply

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        content = envelope.content
        assert isinstance(content, bytes)
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.changed:
            self.messages.append(message)
            self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
            self.peers.append(session.peer)
            self.changed.notify_all()
        if self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float) -> list[EmailMessage]:
        with self.changed:
            self.changed.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)


class SmtpServer:
    """A real SMTP server on 127.0.0.1:port, started and stopped at will."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"smtp://127.0.0.1:{port}"
        self.mailbox = Mailbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_down() -> Iterator[SmtpServer]:
    """An SMTP server that is not running yet: `.start()` it within the test."""
    server = SmtpServer(free_port())
    yield server
    server.stop()


def make_notifier(database: Database, smtp_url: str) -> Notifier:
    return Notifier(
        database,
        SmtpMailer(parse_smtp_url(smtp_url), timeout=10),
        shop_url=SHOP,
        sender="Mosaic <orders@mosaic.example>",
    )


@pytest.fixture
def notifier(database: Database, smtp: SmtpServer) -> Notifier:
    return make_notifier(database, smtp.url)
