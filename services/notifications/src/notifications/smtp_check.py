"""The SMTP server as a resource of the worker: /readyz says whether mail can go out; on
shutdown, the mailer's kept connection is closed with it."""

from __future__ import annotations

from notifications.mailer import SmtpMailer, smtp_client
from notifications.settings import SmtpTarget


class SmtpServer:
    """Pinged by connecting and saying NOOP; holds no connection between pings."""

    name = "smtp"

    def __init__(
        self, target: SmtpTarget, *, timeout: float, mailer: SmtpMailer | None = None
    ) -> None:
        self.target = target
        self.timeout = timeout
        self.mailer = mailer  # whose kept connection goes when the worker stops

    async def open(self) -> None:
        return None

    async def ping(self) -> None:
        client = smtp_client(self.target, timeout=self.timeout, login=False)
        async with client:
            await client.noop()

    async def close(self) -> None:
        if self.mailer is not None:
            await self.mailer.close()
