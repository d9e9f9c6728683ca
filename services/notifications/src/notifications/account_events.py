"""Mail about accounts, from `events:accounts`: the link that proves a new address, and a
note to an address's owner that someone tried to sign up with it.

accounts documents the events (services/accounts/events/*.json); this is our reading of
them, checked on arrival. Sent exactly once per event like order mail (see `handler`): the
inbox row is claimed and the mail sent in one transaction. No `sent_mail` row: that log is
of order mail (it is keyed by order); the inbox says what was handled.

The link's token arrives in the event and goes into the mail only: never logged, never stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from chassis import Database, get_logger
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    StringConstraints,
    ValidationError,
)

from notifications import store
from notifications.emails import RenderedEmail, build_message, message_id
from notifications.handler import IncomingEvent
from notifications.mailer import Mailer, MailRefused
from notifications.order_events import _mail_address

_log = get_logger("notifications.account_events")

_VERIFY_PATH = re.compile(r"^/verify-email/[A-Za-z0-9_-]{20,200}$")
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
MailAddress = Annotated[str, AfterValidator(_mail_address)]


def _verify_path(value: str) -> str:
    """The shop's verification page with the token, never a URL to elsewhere."""
    if not _VERIFY_PATH.match(value):
        raise ValueError("expected /verify-email/<token>")
    return value


class VerificationV1(BaseModel):
    """`data` of AccountRegistered v1 and VerificationRequested v1."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    user_id: UUID
    email: MailAddress
    display_name: Name
    verify_url: Annotated[str, AfterValidator(_verify_path)]
    expires_at: AwareDatetime


class AddressTakenV1(BaseModel):
    """`data` of SignUpWithTakenAddress v1."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    user_id: UUID
    email: MailAddress
    display_name: Name
    attempted_at: AwareDatetime


_templates = Environment(
    loader=PackageLoader("notifications", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _when(value: datetime) -> str:
    value = value.astimezone(UTC)
    return f"{value.day} {value:%B %Y, %H:%M} UTC"


_templates.filters["when"] = _when


def _render(template: str, subject: str, context: dict[str, Any]) -> RenderedEmail:
    return RenderedEmail(
        subject=subject,
        text=_templates.get_template(f"{template}.txt").render(context),
        html=_templates.get_template(f"{template}.html").render(context),
    )


def render_verification(data: VerificationV1, *, shop_url: str, again: bool) -> RenderedEmail:
    context = {
        "data": data,
        "shop_url": shop_url,
        "link": shop_url.rstrip("/") + data.verify_url,
        "again": again,
    }
    return _render("verify_email", "Confirm your e-mail address for Mosaic", context)


def render_address_taken(data: AddressTakenV1, *, shop_url: str) -> RenderedEmail:
    context = {"data": data, "shop_url": shop_url, "sign_in": shop_url.rstrip("/") + "/sign-in"}
    return _render("address_taken", "Someone tried to sign up with your e-mail address", context)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AccountMail:
    """The handler of `events:accounts`: returns to ack, raises to leave for redelivery."""

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

    def _render(self, event: IncomingEvent) -> tuple[str, RenderedEmail] | None:
        """The recipient and the mail; None for a type or version we do not read."""
        kind = (event.type, event.version)
        if kind in (("AccountRegistered", 1), ("VerificationRequested", 1)):
            verification = VerificationV1.model_validate(event.data)
            again = event.type == "VerificationRequested"
            rendered = render_verification(verification, shop_url=self.shop_url, again=again)
            return verification.email, rendered
        if kind == ("SignUpWithTakenAddress", 1):
            taken = AddressTakenV1.model_validate(event.data)
            return taken.email, render_address_taken(taken, shop_url=self.shop_url)
        return None

    async def handle(self, event: IncomingEvent) -> None:
        log = _log.bind(event_id=str(event.id), event_type=event.type, event_version=event.version)
        try:
            event_id = event.id if isinstance(event.id, UUID) else UUID(str(event.id))
            found = self._render(event)
        except ValueError as error:  # a bad id, or data not as documented
            details = _summary(error) if isinstance(error, ValidationError) else [str(error)]
            log.warning("event ignored: malformed", errors=details)
            return
        if found is None:
            log.info("event ignored: not one we mail about")
            return
        recipient, rendered = found
        mail = build_message(
            rendered, sender=self.sender, recipient=recipient, event_id=event_id, date=self.clock()
        )
        async with self.database.session() as session, session.begin():
            if not await store.claim(session, event_id, event.type, event.version):
                log.info("event handled already: nothing sent")
                return
            try:
                await self.mailer.send(mail)
            except MailRefused as refusal:
                await store.set_outcome(session, event_id, "rejected")
                log.error("account mail refused by the mail server", reason=str(refusal))
                return
        log.info("account mail sent", message_id=message_id(event_id))


def _summary(error: ValidationError) -> list[str]:
    """Where and what, without the values (they may hold an address or the link)."""
    return [
        f"{'.'.join(str(part) for part in item['loc']) or 'data'}: {item['msg']}"
        for item in error.errors()[:10]
    ]
