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

import asyncio
import contextlib
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib
from chassis.tracing import span

from notifications.settings import SmtpTarget


class MailRefused(Exception):
    """The SMTP server refused the recipient permanently."""


class MailFailed(Exception):
    """The SMTP server refused the message permanently (5xx), not for its recipients."""


def smtp_client(target: SmtpTarget, *, timeout: float, login: bool = True) -> aiosmtplib.SMTP:
    """A client of the server at SMTP_URL, not yet connected (`connect()` also signs in
    with the URL's credentials, unless `login` is False)."""
    return aiosmtplib.SMTP(
        hostname=target.hostname,
        port=target.port,
        use_tls=target.use_tls,
        start_tls=target.start_tls,
        username=target.username if login else None,
        password=target.password if login else None,
        timeout=timeout,
    )


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Hand the message over; return once the server accepted it (250 after DATA)."""


class SmtpMailer:
    """One SMTP connection, kept between messages: a connection per message cost the worker
    about 0.6 ms of CPU per mail (connect, EHLO, QUIT) against a kept one.

    A server may close a kept connection at any time (its idle timeout, a restart), so a
    kept connection is checked with a NOOP before a message goes on it, and replaced by a
    new one if that fails: nothing of the message has been sent then. Once the message is
    on its way, a failure is raised as before and the connection dropped; the message is
    never sent again here, since the server may have accepted it (the event comes back,
    `sending.py`). Sends take turns on the connection (a lock): one worker's mail is a
    trickle, and SMTP has one transaction at a time per connection."""

    def __init__(self, target: SmtpTarget, *, timeout: float) -> None:
        self.target = target
        self.timeout = timeout
        self._kept: aiosmtplib.SMTP | None = None
        self._turn = asyncio.Lock()

    async def send(self, message: EmailMessage) -> None:
        # A span of the event's trace (no maintained instrumentation covers aiosmtplib);
        # a failure is recorded on it as it passes.
        with span("smtp send", **{"server.address": self.target.hostname}):
            async with self._turn:
                await self._send(await self._connection(), message)

    async def close(self) -> None:
        """Say QUIT on the kept connection, if there is one (on the worker's shutdown)."""
        async with self._turn:
            kept, self._kept = self._kept, None
            if kept is not None and kept.is_connected:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                    await kept.quit()

    async def _connection(self) -> aiosmtplib.SMTP:
        """The kept connection if the server still answers on it, else a new one."""
        kept = self._kept
        if kept is not None and kept.is_connected:
            try:
                await kept.noop()
                return kept
            except (aiosmtplib.SMTPException, OSError):
                kept.close()  # gone or confused: nothing of the message was sent on it
        self._kept = None
        client = smtp_client(self.target, timeout=self.timeout)
        await client.connect()
        self._kept = client
        return client

    async def _send(self, client: aiosmtplib.SMTP, message: EmailMessage) -> None:
        try:
            await client.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [refusal.code for refusal in error.recipients]
            if codes and all(500 <= code < 600 for code in codes):
                detail = "; ".join(f"{r.code} {r.message}" for r in error.recipients)
                raise MailRefused(detail) from error
            raise
        except aiosmtplib.SMTPResponseException as error:
            if 500 <= error.code < 600:
                raise MailFailed(f"{error.code} {error.message}") from error
            self._drop(client)
            raise
        except BaseException:
            self._drop(client)  # half-way through a message: start the next one afresh
            raise

    def _drop(self, client: aiosmtplib.SMTP) -> None:
        client.close()
        if self._kept is client:
            self._kept = None
