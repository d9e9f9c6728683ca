"""The SMTP server as a resource of the worker: /readyz says whether mail can go out."""

from __future__ import annotations

import aiosmtplib

from notifications.settings import SmtpTarget


class SmtpServer:
    """Pinged by connecting and saying NOOP; holds no connection between pings."""

    name = "smtp"

    def __init__(self, target: SmtpTarget, *, timeout: float) -> None:
        self.target = target
        self.timeout = timeout

    async def open(self) -> None:
        return None

    async def ping(self) -> None:
        target = self.target
        client = aiosmtplib.SMTP(
            hostname=target.hostname,
            port=target.port,
            use_tls=target.use_tls,
            start_tls=target.start_tls,
            timeout=self.timeout,
        )
        async with client:
            await client.noop()

    async def close(self) -> None:
        return None
