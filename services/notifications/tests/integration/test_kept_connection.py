"""The mailer keeps its SMTP connection between messages, and stays correct when the
server drops it: each message is sent exactly once, on the kept connection while the
server keeps it, on a new one once it does not."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib
import pytest
from notifications.mailer import SmtpMailer
from notifications.settings import parse_smtp_url

from .conftest import SmtpServer


def _mail(n: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "orders@mosaic.example"
    message["To"] = "ada@example.com"
    message["Subject"] = f"mail {n}"
    message.set_content(f"mail {n}")
    return message


def _subjects(smtp: SmtpServer, count: int) -> list[str]:
    return [str(mail["Subject"]) for mail in smtp.mailbox.wait_for(count, timeout=10)]


async def test_messages_share_one_connection(smtp: SmtpServer) -> None:
    mailer = SmtpMailer(parse_smtp_url(smtp.url), timeout=10)
    for n in range(3):
        await mailer.send(_mail(n))
    await mailer.close()
    assert _subjects(smtp, 3) == ["mail 0", "mail 1", "mail 2"]
    assert len(set(smtp.mailbox.peers)) == 1


async def test_a_connection_the_server_closed_is_replaced(smtp: SmtpServer) -> None:
    """A restart closes the kept connection: the next message goes on a new one, once."""
    mailer = SmtpMailer(parse_smtp_url(smtp.url), timeout=10)
    await mailer.send(_mail(0))
    smtp.stop()
    smtp.start()
    await mailer.send(_mail(1))
    await mailer.close()
    assert _subjects(smtp, 2) == ["mail 0", "mail 1"]
    assert len(set(smtp.mailbox.peers)) == 2


async def test_a_connection_the_server_refuses_is_replaced(smtp: SmtpServer) -> None:
    """The server answers the kept connection's check with 421 (going away): nothing of the
    message was sent on it, so it goes on a new connection, once."""
    mailer = SmtpMailer(parse_smtp_url(smtp.url), timeout=10)
    await mailer.send(_mail(0))
    smtp.mailbox.noop_reply = "421 4.3.2 Service shutting down"
    await mailer.send(_mail(1))
    await mailer.close()
    assert _subjects(smtp, 2) == ["mail 0", "mail 1"]
    assert len(set(smtp.mailbox.peers)) == 2


async def test_a_message_whose_answer_was_lost_is_not_sent_again(smtp: SmtpServer) -> None:
    """The server keeps the message but takes longer to say so than the mailer waits: the
    failure is the caller's (the event comes back, `sending.py`). Sent again on a new
    connection, the message would arrive twice."""
    mailer = SmtpMailer(parse_smtp_url(smtp.url), timeout=0.5)
    await mailer.send(_mail(0))
    smtp.mailbox.reply_delay = 1.5
    with pytest.raises(aiosmtplib.SMTPTimeoutError):
        await mailer.send(_mail(1))
    assert _subjects(smtp, 2) == ["mail 0", "mail 1"]  # accepted, its answer lost
    smtp.mailbox.reply_delay = 0.0
    await mailer.send(_mail(2))
    await mailer.close()
    # Bounded: a duplicate of mail 1 would be the fourth message.
    assert [str(m["Subject"]) for m in smtp.mailbox.wait_for(4, timeout=2)] == [
        "mail 0",
        "mail 1",
        "mail 2",
    ]
