"""E-mails as a shopper receives them: Jinja2 templates (HTML + plain text) into a MIME message.

Pure: no I/O, so everything a shopper reads is tested without a server. The HTML is what
mail clients render reliably: tables for layout, inline styles, no scripts, no external
images or fonts (a client blocks those, and a tracking pixel is not our business); every
value from an event is escaped by Jinja2's autoescape.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime
from typing import Any
from uuid import UUID

from chassis.money import format_price
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from notifications.account_events import AddressTakenV1, VerificationV1
from notifications.order_events import Money, OrderConfirmedV1

MESSAGE_ID_DOMAIN = "mail.mosaic.example"
ORDER_HISTORY_PATH = "/account/orders"  # the shop's page (frontend) of a user's orders

_templates = Environment(
    loader=PackageLoader("notifications", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,  # a missing value is a bug, never an empty spot in a mail
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    auto_reload=False,  # packaged templates: no stat() of each one per mail
)


def _money(value: Money) -> str:
    return format_price(value.amount, value.currency)


def _date(value: datetime) -> str:
    return f"{value.day} {value:%B %Y}"


def _when(value: datetime) -> str:
    value = value.astimezone(UTC)
    return f"{value.day} {value:%B %Y, %H:%M} UTC"


_templates.filters["money"] = _money
_templates.filters["date"] = _date
_templates.filters["when"] = _when


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


class _HeaderClasses(HeaderRegistry):
    """policy.default's registry, its header classes made once: the standard one builds a
    new class (`type(...)`) for every header it sets, about a sixth of a message's CPU."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


_POLICY = default.clone(header_factory=_HeaderClasses())


def message_id(event_id: UUID) -> str:
    """The Message-ID of the mail for this event: the same event always yields the same id,
    so a mailbox (or a person reading headers) recognises a second delivery as the same mail.
    """
    return f"<{event_id}@{MESSAGE_ID_DOMAIN}>"


def render_order_confirmed(order: OrderConfirmedV1, *, shop_url: str) -> RenderedEmail:
    context: dict[str, Any] = {
        "order": order,
        "shop_url": shop_url,
        # No guest link (orders leaves it out when the saga was finished by its recovery,
        # the token being gone): the order history, which asks a shopper to sign in.
        "status_link": shop_url.rstrip("/") + (order.status_url or ORDER_HISTORY_PATH),
        "item_count": sum(line.quantity for line in order.lines),
    }
    return RenderedEmail(
        subject=f"Your Mosaic order {order.short_id} is confirmed",
        text=_templates.get_template("order_confirmed.txt").render(context),
        html=_templates.get_template("order_confirmed.html").render(context),
    )


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


def build_message(
    rendered: RenderedEmail,
    *,
    sender: str,
    recipient: str,
    event_id: UUID,
    date: datetime,
) -> EmailMessage:
    """multipart/alternative: the plain text first, the HTML last (the preferred part)."""
    message = EmailMessage(policy=_POLICY)
    message["Subject"] = rendered.subject
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id(event_id)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message
