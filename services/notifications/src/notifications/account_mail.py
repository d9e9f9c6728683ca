"""What the worker does with each event from `events:accounts`: render the mail accounts
asked for, then send it once (`sending.send_once`, as order mail).

Returning means "ack it", raising "leave it for redelivery"; `PermanentFailure` moves the
event to `events:accounts:dead` at once. A type we do not subscribe to is acked quietly; a
version of a subscribed type we do not read is acked with an info line, as order mail (its
producer publishes the version we read beside it). An event whose data is not as
documented (a link to elsewhere, a bad address) is acked with a warning naming the fields,
never mailed. No `sent_mail` row: that log is of order mail (it is keyed by order); the
inbox says what was handled. The link's token goes into the mail only: never logged, never
stored.
"""

from __future__ import annotations

from uuid import UUID

from chassis import get_logger
from pydantic import ValidationError

from notifications.account_events import AddressTakenV1, VerificationV1
from notifications.emails import RenderedEmail, render_address_taken, render_verification
from notifications.sending import IncomingEvent, MailHandler, send_once, summary

_log = get_logger("notifications.account_mail")

# What we subscribe to, by type: the versions of each we read. Other types are skipped.
SUBSCRIBED: dict[str, frozenset[int]] = {
    "AccountRegistered": frozenset({1}),
    "VerificationRequested": frozenset({1}),
    "SignUpWithTakenAddress": frozenset({1}),
}


class AccountMail(MailHandler):
    """The handler of `events:accounts`: returns to ack, raises to leave for redelivery."""

    def _render(self, event: IncomingEvent) -> tuple[str, RenderedEmail]:
        """The recipient and the mail (the event is of a type and version we read)."""
        if event.type == "SignUpWithTakenAddress":
            taken = AddressTakenV1.model_validate(event.data)
            return taken.email, render_address_taken(taken, shop_url=self.shop_url)
        verification = VerificationV1.model_validate(event.data)
        again = event.type == "VerificationRequested"
        rendered = render_verification(verification, shop_url=self.shop_url, again=again)
        return verification.email, rendered

    async def handle(self, event: IncomingEvent) -> None:
        log = _log.bind(event_id=str(event.id), event_type=event.type, event_version=event.version)
        if event.type not in SUBSCRIBED:
            log.debug("event skipped: not subscribed to this type")
            return
        if event.version not in SUBSCRIBED[event.type]:
            # accounts publishes a new version beside the one we read (docs/operations.md,
            # "Changing an API or an event safely"): that one brings the mail; not a failure.
            log.info(
                "event skipped: a version we do not read", reads=sorted(SUBSCRIBED[event.type])
            )
            return
        try:
            event_id = event.id if isinstance(event.id, UUID) else UUID(str(event.id))
            recipient, rendered = self._render(event)
        except ValueError as error:  # a bad id, or data not as documented
            details = summary(error) if isinstance(error, ValidationError) else [str(error)]
            log.warning("event ignored: malformed", errors=details)
            return
        mail = self.message(rendered, recipient=recipient, event_id=event_id)
        await send_once(
            self.database, self.mailer, event, event_id, mail, log=log, what="account mail"
        )
