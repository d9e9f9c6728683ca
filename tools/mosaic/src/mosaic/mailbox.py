"""The development mailbox of `mosaic up`: an SMTP sink (aiosmtpd, in the runner's own
event loop) that keeps every message it receives as an .eml file under
$MOSAIC_HOME/mailbox, so mail survives restarts. Services that list "smtp" get
SMTP_URL=smtp://127.0.0.1:PORT; nothing is ever delivered anywhere else.
"""

import asyncio
import email.policy
import os
import re
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

_ID = re.compile(r"^[0-9]{19}-[0-9a-f]{8}$")
MAX_MESSAGE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Mail:
    id: str
    received_at: float
    message: EmailMessage

    @property
    def summary(self) -> dict[str, Any]:
        date = self.message["date"]
        try:
            sent = parsedate_to_datetime(str(date)).isoformat() if date else None
        except (TypeError, ValueError):
            sent = None
        return {
            "id": self.id,
            "received_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.received_at)),
            "date": sent,
            "from": str(self.message["from"] or ""),
            "to": [a for _, a in getaddresses([str(v) for v in self.message.get_all("to", [])])],
            "subject": str(self.message["subject"] or ""),
            "message_id": str(self.message["message-id"] or ""),
        }

    def part(self, subtype: str) -> str | None:
        """The text/plain or text/html body, if the message has one."""
        body = self.message.get_body(preferencelist=(subtype,))
        if body is None or body.get_content_type() != f"text/{subtype}":
            return None
        content = body.get_content()
        return content if isinstance(content, str) else None


class Mailbox:
    """The .eml files of one folder; names sort in the order mail arrived."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def store(self, raw: bytes) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        mail_id = f"{time.time_ns():019d}-{uuid.uuid4().hex[:8]}"
        tmp = self.folder / f".{mail_id}.tmp"
        tmp.write_bytes(raw)
        tmp.replace(self.folder / f"{mail_id}.eml")  # never half a message in the list
        return mail_id

    def ids(self) -> list[str]:
        """Newest first."""
        if not self.folder.is_dir():
            return []
        return sorted(
            (p.stem for p in self.folder.glob("*.eml") if _ID.match(p.stem)), reverse=True
        )

    def get(self, mail_id: str) -> Mail | None:
        if not _ID.match(mail_id):  # also keeps any path out of the file name
            return None
        path = self.folder / f"{mail_id}.eml"
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        message = BytesParser(policy=email.policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        return Mail(mail_id, int(mail_id.split("-")[0]) / 1e9, message)

    def raw(self, mail_id: str) -> bytes | None:
        if not _ID.match(mail_id):
            return None
        try:
            return (self.folder / f"{mail_id}.eml").read_bytes()
        except FileNotFoundError:
            return None


class _Sink:
    def __init__(self, mailbox: Mailbox, on_mail: Any) -> None:
        self.mailbox = mailbox
        self.on_mail = on_mail

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        raw = envelope.original_content or b""
        mail_id = await asyncio.to_thread(self.mailbox.store, raw)
        self.on_mail(mail_id, envelope.mail_from, envelope.rcpt_tos)
        return "250 Message accepted for delivery"


async def start_smtp_sink(
    mailbox: Mailbox, port: int, on_mail: Any = lambda *_: None, host: str = "127.0.0.1"
) -> asyncio.Server:
    """Listen on host:port (0: any free port) in the running loop."""
    loop = asyncio.get_running_loop()
    handler = _Sink(mailbox, on_mail)

    def protocol() -> SMTP:
        return SMTP(
            handler,
            hostname="mosaic-mailbox",  # not socket.getfqdn(), which may wait on DNS
            data_size_limit=MAX_MESSAGE_BYTES,
            enable_SMTPUTF8=True,
            loop=loop,
        )

    return await loop.create_server(protocol, host, port)


def server_port(server: asyncio.Server) -> int:
    port: int = server.sockets[0].getsockname()[1]
    return port


def mailbox_folder(home: Path) -> Path:
    return Path(os.fspath(home)) / "mailbox"
