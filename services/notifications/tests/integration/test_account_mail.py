"""Account events → one e-mail each, on real Postgres and a real SMTP server: the link that
proves a new address, and the note to an owner that someone tried their address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from chassis import Database
from chassis.events import Event
from notifications.account_mail import AccountMail
from notifications.mailer import SmtpMailer
from notifications.settings import parse_smtp_url

from .conftest import SHOP, SmtpServer

TOKEN = "Xy-Token_123456789012345678901234567890"


def account_mail(database: Database, smtp: SmtpServer) -> AccountMail:
    return AccountMail(
        database,
        SmtpMailer(parse_smtp_url(smtp.url), timeout=10),
        shop_url=SHOP,
        sender="Mosaic <accounts@mosaic.example>",
    )


def registered(kind: str = "AccountRegistered", **changes: Any) -> Event:
    data = {
        "user_id": "0b8f3f7e-3c1a-4c39-9d55-1d0e0f6c2a11",
        "email": "ada@example.com",
        "display_name": "Ada Lovelace",
        "verify_url": f"/verify-email/{TOKEN}",
        "expires_at": (datetime.now(UTC) + timedelta(hours=24)).isoformat(),
        **changes,
    }
    return Event(type=kind, version=1, data=data)


async def test_a_new_account_gets_its_link_once(
    database: Database, smtp: SmtpServer, db: asyncpg.Connection
) -> None:
    handler = account_mail(database, smtp)
    event = registered()
    for _ in range(3):  # redelivered: still one mail
        await handler.handle(event)
    [mail] = smtp.mailbox.wait_for(1, timeout=10)
    assert mail["To"] == "ada@example.com"
    assert mail["Subject"] == "Confirm your e-mail address for Mosaic"
    assert mail["Message-ID"] == f"<{event.id}@mail.mosaic.example>"
    text, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert text is not None and html is not None
    assert f"{SHOP}/verify-email/{TOKEN}" in text.get_content()
    assert f"{SHOP}/verify-email/{TOKEN}" in html.get_content()
    assert "Thank you for creating a Mosaic account" in text.get_content()
    assert "new link" not in text.get_content()
    # Every handle() has returned, so every send it made was accepted already (250).
    assert len(smtp.mailbox.messages) == 1
    row = await db.fetchrow("SELECT type, outcome FROM inbox")
    assert row is not None and (row["type"], row["outcome"]) == ("AccountRegistered", "sent")


async def test_a_link_asked_for_again_says_earlier_links_no_longer_work(
    database: Database, smtp: SmtpServer
) -> None:
    await account_mail(database, smtp).handle(registered("VerificationRequested"))
    [mail] = smtp.mailbox.wait_for(1, timeout=10)
    text, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert text is not None and html is not None
    for part in (text.get_content(), html.get_content()):
        assert "Earlier links no longer work." in part
        assert "Thank you for creating" not in part
        assert f"{SHOP}/verify-email/{TOKEN}" in part


async def test_the_owner_of_a_taken_address_hears_of_the_attempt(
    database: Database, smtp: SmtpServer
) -> None:
    event = Event(
        type="SignUpWithTakenAddress",
        version=1,
        data={
            "user_id": "0b8f3f7e-3c1a-4c39-9d55-1d0e0f6c2a11",
            "email": "ada@example.com",
            "display_name": "Ada Lovelace",
            "attempted_at": datetime.now(UTC).isoformat(),
        },
    )
    await account_mail(database, smtp).handle(event)
    [mail] = smtp.mailbox.wait_for(1, timeout=10)
    assert mail["Subject"] == "Someone tried to sign up with your e-mail address"
    text = mail.get_body(("plain",))
    assert text is not None and f"{SHOP}/sign-in" in text.get_content()
    assert "verify-email" not in text.get_content()


async def test_a_link_to_elsewhere_or_a_bad_address_is_never_mailed(
    database: Database, smtp: SmtpServer, db: asyncpg.Connection
) -> None:
    handler = account_mail(database, smtp)
    for event in (
        registered(verify_url="https://evil.example/verify-email/" + TOKEN),
        registered(email="ada@example.com\r\nBcc: all@example.com"),
        registered("SomethingElse"),
    ):
        await handler.handle(event)  # returns (acked): never looped on, nothing sent
    assert smtp.mailbox.messages == []
    assert await db.fetchval("SELECT count(*) FROM inbox") == 0


async def test_a_version_we_do_not_read_is_skipped_and_its_v1_twin_mailed(
    database: Database, smtp: SmtpServer, db: asyncpg.Connection
) -> None:
    """accounts ahead of us (v2 of its sign-up mail) publishes v2 beside v1 until every
    reader has moved (docs/operations.md): the v2 event is acked, not dead-lettered, and
    the v1 one sends the link. A type we do not read at all is no one's fault: acked."""
    handler = account_mail(database, smtp)
    await handler.handle(Event(type="AccountRegistered", version=2, data={}))  # acked
    await handler.handle(Event(type="AccountDeleted", version=1, data={}))  # acked quietly
    assert smtp.mailbox.messages == []
    assert await db.fetchval("SELECT count(*) FROM inbox") == 0
    await handler.handle(registered())
    [mail] = smtp.mailbox.wait_for(1, timeout=10)
    assert mail["To"] == "ada@example.com"
    assert await db.fetchval("SELECT count(*) FROM inbox") == 1
