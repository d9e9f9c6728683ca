"""OrderConfirmed → one e-mail, on real Postgres and a real SMTP server, however often the
event comes: redelivered, delivered concurrently, or while the SMTP server is down."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import asyncpg
import pytest
from chassis import Database
from notifications.handler import Notifier
from notifications.mailer import SmtpMailer

from .conftest import SHOP, SmtpServer, make_notifier


async def counts(db: asyncpg.Connection) -> tuple[int, int]:
    inbox = await db.fetchval("SELECT count(*) FROM inbox")
    sent = await db.fetchval("SELECT count(*) FROM sent_mail")
    return inbox, sent


async def test_one_event_one_mail_with_both_parts(
    notifier: Notifier, smtp: SmtpServer, db: asyncpg.Connection, order_confirmed: Any
) -> None:
    event = order_confirmed(order_id="3f2a9c1b-0000-4000-8000-000000000001")
    await notifier.handle(event)

    [mail] = smtp.mailbox.wait_for(1, timeout=10)
    assert smtp.mailbox.envelopes == [("orders@mosaic.example", ["ada@example.com"])]
    assert mail["Subject"] == "Your Mosaic order 3F2A9C1B is confirmed"
    assert mail["To"] == "ada@example.com"
    assert mail["Message-ID"] == f"<{event.id}@mail.mosaic.example>"
    assert mail.get_content_type() == "multipart/alternative"
    text, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert text is not None and html is not None
    assert "€65.99" in text.get_content() and "€65.99" in html.get_content()
    assert f"{SHOP}/orders/status/Xy-Token_123" in html.get_content()

    inbox = await db.fetchrow("SELECT * FROM inbox")
    assert inbox is not None
    assert (str(inbox["event_id"]), inbox["type"], inbox["version"], inbox["outcome"]) == (
        str(event.id),
        "OrderConfirmed",
        1,
        "sent",
    )
    assert inbox["handled_at"].tzinfo is not None
    sent = await db.fetchrow("SELECT * FROM sent_mail")
    assert sent is not None
    assert str(sent["order_id"]) == "3f2a9c1b-0000-4000-8000-000000000001"
    assert sent["recipient"] == "ada@example.com"
    assert sent["subject"] == mail["Subject"]
    assert sent["message_id"] == mail["Message-ID"]


async def test_redelivered_five_times_still_one_mail(
    notifier: Notifier, smtp: SmtpServer, db: asyncpg.Connection, order_confirmed: Any
) -> None:
    event = order_confirmed()
    for _ in range(5):
        await notifier.handle(event)  # returns every time: acked, nothing more sent
    assert len(smtp.mailbox.wait_for(1, timeout=10)) == 1
    await asyncio.sleep(0.2)
    assert len(smtp.mailbox.messages) == 1
    assert await counts(db) == (1, 1)


async def test_five_concurrent_deliveries_send_one_mail(
    database_url: str, smtp: SmtpServer, db: asyncpg.Connection, order_confirmed: Any
) -> None:
    """Five workers (each its own pool) get the same event at once; the SMTP server is slow,
    so the first send is in flight while the others' claims wait on the inbox row."""
    smtp.mailbox.data_delay = 0.5
    event = order_confirmed()
    databases = [Database(database_url, pool_size=1) for _ in range(5)]
    for database in databases:
        await database.open()
    try:
        workers = [make_notifier(database, smtp.url) for database in databases]
        await asyncio.gather(*(worker.handle(event) for worker in workers))
    finally:
        for database in databases:
            await database.close()
    assert len(smtp.mailbox.messages) == 1
    assert await counts(db) == (1, 1)


async def test_concurrent_and_repeated_across_many_events(
    notifier: Notifier, smtp: SmtpServer, db: asyncpg.Connection, order_confirmed: Any
) -> None:
    events = [order_confirmed() for _ in range(4)]
    await asyncio.gather(*(notifier.handle(event) for event in events * 3))
    mails = smtp.mailbox.wait_for(4, timeout=10)
    assert sorted(m["Message-ID"] for m in mails) == sorted(
        f"<{e.id}@mail.mosaic.example>" for e in events
    )
    assert await counts(db) == (4, 4)


async def test_smtp_down_leaves_the_event_for_later(
    database: Database, smtp_down: SmtpServer, db: asyncpg.Connection, order_confirmed: Any
) -> None:
    notifier = make_notifier(database, smtp_down.url)
    event = order_confirmed()
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await notifier.handle(event)  # raises: the consumer does not ack
    assert await counts(db) == (0, 0)  # the claim was rolled back with the send

    smtp_down.start()
    await notifier.handle(event)  # the redelivery
    assert len(smtp_down.mailbox.wait_for(1, timeout=10)) == 1
    assert await counts(db) == (1, 1)
    await notifier.handle(event)
    assert len(smtp_down.mailbox.messages) == 1


async def test_a_delivery_waiting_on_a_failed_send_sends_instead(
    database_url: str, smtp: SmtpServer, db: asyncpg.Connection, order_confirmed: Any
) -> None:
    """Worker A claims and its SMTP send fails after a while; worker B, which got the same
    event meanwhile and waited on A's claim, then claims it itself and sends."""
    event = order_confirmed()
    sending = asyncio.Event()  # A sends only once it holds the claim

    class FailingSlowly:
        async def send(self, message: EmailMessage) -> None:
            sending.set()
            await asyncio.sleep(0.5)
            raise aiosmtplib.SMTPServerDisconnected("connection lost")

    first, second = Database(database_url, pool_size=1), Database(database_url, pool_size=1)
    await first.open()
    await second.open()
    try:
        failing = Notifier(first, FailingSlowly(), shop_url=SHOP, sender="orders@mosaic.example")
        working = make_notifier(second, smtp.url)
        a = asyncio.create_task(failing.handle(event))
        await asyncio.wait_for(sending.wait(), timeout=10)  # A holds the claim
        b = asyncio.create_task(working.handle(event))
        results = await asyncio.gather(a, b, return_exceptions=True)
    finally:
        await first.close()
        await second.close()
    assert isinstance(results[0], aiosmtplib.SMTPServerDisconnected)
    assert results[1] is None
    assert len(smtp.mailbox.wait_for(1, timeout=10)) == 1
    assert await counts(db) == (1, 1)


async def test_a_recipient_refused_for_good_is_recorded_and_not_retried(
    notifier: Notifier, smtp: SmtpServer, db: asyncpg.Connection, order_confirmed: Any
) -> None:
    smtp.mailbox.refused.add("nobody@example.com")
    event = order_confirmed(email="nobody@example.com")
    await notifier.handle(event)  # returns: acked
    await notifier.handle(event)
    assert smtp.mailbox.messages == []
    assert await db.fetchval("SELECT outcome FROM inbox") == "rejected"
    assert await counts(db) == (1, 0)


async def test_the_remaining_window_sends_the_same_message_id_twice(
    database: Database, smtp: SmtpServer, db: asyncpg.Connection, order_confirmed: Any
) -> None:
    """The documented window: the server accepted the mail, then the process died before
    COMMIT. The claim is gone with the transaction; the redelivery sends again, with the
    same Message-ID, so the mailbox can recognise the copy."""

    class DyingAfterSend(SmtpMailer):
        async def send(self, message: EmailMessage) -> None:
            await super().send(message)
            raise KeyboardInterrupt  # stands for a SIGKILL between send and COMMIT

    event = order_confirmed()
    smtp_target = make_notifier(database, smtp.url).mailer
    assert isinstance(smtp_target, SmtpMailer)
    dying = Notifier(
        database,
        DyingAfterSend(smtp_target.target, timeout=10),
        shop_url=SHOP,
        sender="orders@mosaic.example",
    )
    with pytest.raises(KeyboardInterrupt):
        await dying.handle(event)
    assert await counts(db) == (0, 0)
    await make_notifier(database, smtp.url).handle(event)
    first, second = smtp.mailbox.wait_for(2, timeout=10)
    assert first["Message-ID"] == second["Message-ID"] == f"<{event.id}@mail.mosaic.example>"
    assert await counts(db) == (1, 1)
