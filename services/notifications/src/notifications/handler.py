"""What the worker does with each event from `events:orders`.

`Notifier.handle(event)` returning means "ack it"; raising means "leave it for redelivery"
(chassis.events counts the deliveries and, after MAX_DELIVERIES, moves the event to the
dead letters, `events:orders:dead`); raising `PermanentFailure` means "no retry can help:
dead-letter it now". So:
- a type we do not subscribe to (OrderCancelled, or one orders adds later) is acked
  quietly (a debug line): not our business, nothing wrong;
- a subscribed type in a version we cannot read, malformed data, an id that is no UUID,
  or a message the SMTP server refuses for good (5xx): PermanentFailure, with a warning
  that names the fields but not the shopper's data; an operator replays it once fixed;
- trouble that may pass (Postgres or the SMTP server away, a 4xx): raised as is.

Exactly one e-mail per event, as far as SMTP allows. The inbox row is claimed (INSERT ...
ON CONFLICT DO NOTHING) and the mail sent and recorded in ONE transaction:
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

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from chassis import Database, get_logger
from chassis.events import PermanentFailure
from pydantic import ValidationError

from notifications import store
from notifications.emails import build_message, message_id, render_order_confirmed
from notifications.mailer import Mailer, MailFailed, MailRefused
from notifications.order_events import OrderConfirmedV1

_log = get_logger("notifications.handler")

ORDER_CONFIRMED = ("OrderConfirmed", 1)
# What we subscribe to, by type: the versions of each we read. Other types are skipped.
SUBSCRIBED: dict[str, frozenset[int]] = {"OrderConfirmed": frozenset({1})}


class IncomingEvent(Protocol):
    """The envelope as the handler reads it (chassis.events.Event has this shape)."""

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


class Notifier:
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

    async def handle(self, event: IncomingEvent) -> None:
        log = _log.bind(event_id=str(event.id), event_type=event.type, event_version=event.version)
        if event.type not in SUBSCRIBED:
            # Producers publish types we do not read (orders' OrderCancelled): not a fault.
            log.debug("event skipped: not subscribed to this type")
            return
        try:
            event_id = event.id if isinstance(event.id, UUID) else UUID(str(event.id))
        except ValueError:
            log.warning("event not handled: its id is not a UUID")
            raise PermanentFailure("the event's id is not a UUID") from None
        if event.version not in SUBSCRIBED[event.type]:
            log.warning("event not handled: no handler for this version")
            raise PermanentFailure(f"no handler for {event.type} version {event.version}")
        try:
            order = OrderConfirmedV1.model_validate(event.data)
        except ValidationError as error:
            errors = _summary(error)
            log.warning("event not handled: malformed data", errors=errors)
            raise PermanentFailure(f"malformed data: {'; '.join(errors)}") from None
        log = log.bind(order_id=str(order.order_id))
        rendered = render_order_confirmed(order, shop_url=self.shop_url)
        mail = build_message(
            rendered,
            sender=self.sender,
            recipient=order.email,
            event_id=event_id,
            date=self.clock(),
        )
        async with self.database.session() as session, session.begin():
            if not await store.claim(session, event_id, event.type, event.version):
                log.info("event handled already: nothing sent")
                return
            try:
                await self.mailer.send(mail)
            except MailRefused as refusal:
                # Permanent: a retry gets the same answer. Recorded, acked, an operator's
                # matter (a mistyped address has to reach the shopper by other means).
                await store.set_outcome(session, event_id, "rejected")
                log.error("order confirmation refused by the mail server", reason=str(refusal))
                return
            except MailFailed as failure:
                # Rolled back: no claim, nothing recorded; the dead letter can be replayed
                # once the cause (our sender, the message's size...) is fixed.
                log.error("order confirmation failed for good", reason=str(failure))
                raise PermanentFailure(f"the mail server refused the message: {failure}") from None
            # From here to the COMMIT is the window described above.
            await store.record_sent(
                session,
                event_id=event_id,
                order_id=order.order_id,
                recipient=order.email,
                subject=rendered.subject,
                message_id=message_id(event_id),
            )
        log.info("order confirmation sent", message_id=message_id(event_id))


def _summary(error: ValidationError) -> list[str]:
    """Where and what, without the values (they may hold a shopper's address)."""
    return [
        f"{'.'.join(str(part) for part in item['loc']) or 'data'}: {item['msg']}"
        for item in error.errors()[:10]
    ]
