"""One event, one e-mail, once: what every handler does once it has rendered its mail.

The inbox row is claimed (INSERT ... ON CONFLICT DO NOTHING) and the mail sent, and
recorded, in ONE transaction:
- claimed before by a committed transaction → handled already: ack, send nothing;
- claimed right now by another worker (a concurrent redelivery) → the INSERT waits on the
  primary key until that transaction ends, then sees the row (or claims it, if the other
  one's send failed and it rolled back): never two sends at once;
- the send fails → the transaction rolls back, the claim disappears, the event stays
  unacked and is delivered again later.
The window that remains: the SMTP server accepted the message (250 after DATA) and the
process dies, or Postgres goes away, before the COMMIT. The claim is lost with the
transaction, so the redelivered event sends the mail once more. SMTP has no two-phase
commit, so no ordering closes this window; it only moves it (committing before sending
would lose the mail instead, which is worse for an order confirmation). The window is a
few milliseconds wide, and the second copy carries the same Message-ID (derived from the
event id), which mail stores and clients use to recognise duplicates.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, Protocol
from uuid import UUID

from chassis import Database
from chassis.events import PermanentFailure
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from notifications import store
from notifications.emails import RenderedEmail, build_message, message_id
from notifications.mailer import Mailer, MailFailed, MailRefused

Record = Callable[[AsyncSession], Awaitable[None]]


class IncomingEvent(Protocol):
    """The envelope as a handler reads it (chassis.events.Event has this shape)."""

    @property
    def id(self) -> UUID | str: ...
    @property
    def type(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def data(self) -> Any: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


class MailHandler:
    """What every stream's handler holds: where mail is logged and sent, and how it is
    addressed. Subclasses add `handle(event)`."""

    def __init__(
        self,
        database: Database,
        mailer: Mailer,
        *,
        shop_url: str,
        sender: str,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.database = database
        self.mailer = mailer
        self.shop_url = shop_url
        self.sender = sender
        self.clock = clock

    def message(self, rendered: RenderedEmail, *, recipient: str, event_id: UUID) -> EmailMessage:
        return build_message(
            rendered, sender=self.sender, recipient=recipient, event_id=event_id, date=self.clock()
        )


async def send_once(
    database: Database,
    mailer: Mailer,
    event: IncomingEvent,
    event_id: UUID,
    mail: EmailMessage,
    *,
    log: Any,
    what: str,
    record: Record | None = None,
) -> None:
    """Claim the event in the inbox, send `mail` and `record` it, in one transaction.

    A recipient the server refuses for good is recorded (`rejected`) and acked: a retry gets
    the same answer. A message it refuses for good (MailFailed) is rolled back and raised as
    PermanentFailure: the dead letter can be replayed once the cause is fixed. Anything
    else (the server or Postgres away) is raised as is, for a redelivery."""
    async with database.session() as session, session.begin():
        if not await store.claim(session, event_id, event.type, event.version):
            log.info("event handled already: nothing sent")
            return
        try:
            await mailer.send(mail)
        except MailRefused as refusal:
            await store.set_outcome(session, event_id, "rejected")
            log.error(f"{what} refused by the mail server", reason=str(refusal))
            return
        except MailFailed as failure:
            log.error(f"{what} failed for good", reason=str(failure))
            raise PermanentFailure(f"the mail server refused the message: {failure}") from None
        # From here to the COMMIT is the window described above.
        if record is not None:
            await record(session)
    log.info(f"{what} sent", message_id=message_id(event_id))


def summary(error: ValidationError) -> list[str]:
    """Where and what, without the values (they may hold an address or a link's token)."""
    return [
        f"{'.'.join(str(part) for part in item['loc']) or 'data'}: {item['msg']}"
        for item in error.errors()[:10]
    ]
