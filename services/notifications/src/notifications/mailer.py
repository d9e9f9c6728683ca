"""Handing mail to the SMTP server at SMTP_URL (aiosmtplib).

Two kinds of failure, told apart because the handler treats them differently:
- `MailRefused`: the server refused every recipient for good (a 5xx reply to RCPT TO).
  Retrying cannot help; the event is acked and the refusal recorded.
- `MailFailed`: any other 5xx reply (our sender refused, the message refused at DATA):
  the same message gets the same answer; the event goes to the dead letters.
- anything else (server down, timeout, 4xx "try later", TLS or login trouble): raised as
  is; the event stays unacked and comes back (a bounded number of times).
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol

import aiosmtplib
from chassis.tracing import span

from notifications.settings import SmtpTarget


class MailRefused(Exception):
    """The SMTP server refused the recipient permanently."""


class MailFailed(Exception):
    """The SMTP server refused the message permanently (5xx), not for its recipients."""


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Hand the message over; return once the server accepted it (250 after DATA)."""


class SmtpMailer:
    """One SMTP connection per message: a confirmation e-mail per order is a trickle, and a
    fresh connection leaves nothing to go stale between orders."""

    def __init__(self, target: SmtpTarget, *, timeout: float) -> None:
        self.target = target
        self.timeout = timeout

    async def send(self, message: EmailMessage) -> None:
        # A span of the event's trace (no maintained instrumentation covers aiosmtplib);
        # a failure is recorded on it as it passes.
        with span("smtp send", **{"server.address": self.target.hostname}):
            await self._send(message)

    async def _send(self, message: EmailMessage) -> None:
        target = self.target
        try:
            await aiosmtplib.send(
                message,
                hostname=target.hostname,
                port=target.port,
                use_tls=target.use_tls,
                start_tls=target.start_tls,
                username=target.username,
                password=target.password,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [refusal.code for refusal in error.recipients]
            if codes and all(500 <= code < 600 for code in codes):
                detail = "; ".join(f"{r.code} {r.message}" for r in error.recipients)
                raise MailRefused(detail) from error
            raise
        except aiosmtplib.SMTPResponseException as error:
            if 500 <= error.code < 600:
                raise MailFailed(f"{error.code} {error.message}") from error
            raise
