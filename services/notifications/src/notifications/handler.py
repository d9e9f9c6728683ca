"""What the worker does with each event from `events:orders`.

`Notifier.handle(event)` returning means "ack it"; raising means "leave it for redelivery"
(chassis.events counts the deliveries and, after MAX_DELIVERIES, moves the event to the
dead letters, `events:orders:dead`); raising `PermanentFailure` means "no retry can help:
dead-letter it now". So:
- a type we do not subscribe to (OrderCancelled, or one orders adds later) is acked
  quietly (a debug line): not our business, nothing wrong;
- a version of a subscribed type we do not read (OrderConfirmed v2) is acked with an info
  line: a producer publishes a new version beside the old one until every reader has
  moved (docs/operations.md, "Changing an API or an event safely"), so the version we read
  arrives too; dead-lettering its twin would only bury real failures;
- malformed data, an id that is no UUID, or a message the SMTP server refuses for good
  (5xx): PermanentFailure, with a warning that names the fields but not the shopper's
  data; an operator replays it once fixed;
- trouble that may pass (Postgres or the SMTP server away, a 4xx): raised as is.

Exactly one e-mail per event, as far as SMTP allows: `sending.send_once`.
"""

from __future__ import annotations

from uuid import UUID

from chassis import get_logger
from chassis.events import PermanentFailure
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from notifications import store
from notifications.emails import message_id, render_order_confirmed
from notifications.order_events import OrderConfirmedV1
from notifications.sending import IncomingEvent, MailHandler, send_once, summary

__all__ = ["SUBSCRIBED", "IncomingEvent", "Notifier"]

_log = get_logger("notifications.handler")

ORDER_CONFIRMED = ("OrderConfirmed", 1)
# What we subscribe to, by type: the versions of each we read. Other types are skipped.
SUBSCRIBED: dict[str, frozenset[int]] = {"OrderConfirmed": frozenset({1})}


class Notifier(MailHandler):
    """The handler of `events:orders`: returns to ack, raises to leave for redelivery."""

    async def handle(self, event: IncomingEvent) -> None:
        log = _log.bind(event_id=str(event.id), event_type=event.type, event_version=event.version)
        if event.type not in SUBSCRIBED:
            # Producers publish types we do not read (orders' OrderCancelled): not a fault.
            log.debug("event skipped: not subscribed to this type")
            return
        if event.version not in SUBSCRIBED[event.type]:
            log.info(
                "event skipped: a version we do not read", reads=sorted(SUBSCRIBED[event.type])
            )
            return
        try:
            event_id = event.id if isinstance(event.id, UUID) else UUID(str(event.id))
        except ValueError:
            log.warning("event not handled: its id is not a UUID")
            raise PermanentFailure("the event's id is not a UUID") from None
        try:
            order = OrderConfirmedV1.model_validate(event.data)
        except ValidationError as error:
            errors = summary(error)
            log.warning("event not handled: malformed data", errors=errors)
            raise PermanentFailure(f"malformed data: {'; '.join(errors)}") from None
        log = log.bind(order_id=str(order.order_id))
        rendered = render_order_confirmed(order, shop_url=self.shop_url)
        mail = self.message(rendered, recipient=order.email, event_id=event_id)

        async def record(session: AsyncSession) -> None:
            await store.record_sent(
                session,
                event_id=event_id,
                order_id=order.order_id,
                recipient=order.email,
                subject=rendered.subject,
                message_id=message_id(event_id),
            )

        await send_once(
            self.database,
            self.mailer,
            event,
            event_id,
            mail,
            log=log,
            what="order confirmation",
            record=record,
        )
