"""What a shopper's page said after "Place order", in the words the chaos run checks.

Read from the page as a person would (status, where it leads, the text next to the card
number), never from orders' API: the run is about what the shopper was told.
"""

import re
from dataclasses import dataclass, field
from enum import StrEnum

import httpx

from mosaic_testing import Forms

# The reasons payments gives for the two refused test cards (payments/domain.py), the
# sentence the shopper must read next to the card number.
GOOD = "4242 4242 4242 4242"
DECLINED = "4000 0000 0000 0002"
PROCESSOR_TIMES_OUT = "4000 1234 5678 9017"
REASONS = {
    DECLINED: "Your card was declined",
    PROCESSOR_TIMES_OUT: "The card processor did not answer in time",
}
# The error paragraph under the card number (partials/checkout_field.html).
CARD_ERROR = re.compile(r'<p class="field__error" id="checkout-card-number-error">(.*?)</p>', re.S)


class Said(StrEnum):
    PLACED = "placed"  # 303 to the order's page
    REFUSED = "refused"  # the form again with a reason (402, 409, 422, orders' own 503)
    MAY_BE_PLACED = "may-be-placed"  # 202 with "Check again"
    NOT_PLACED = "not-placed"  # "Check again" found no order
    UNAVAILABLE = "unavailable"  # any other 5xx: "taking a short break"
    OTHER = "other"


class OrderPage(StrEnum):
    CONFIRMED = "confirmed"
    PROCESSING = "processing"
    CANCELLED = "cancelled"


@dataclass
class Checkout:
    """One shopper's checkout and everything its pages said, in order."""

    email: str
    card: str
    started: float  # seconds into the run
    said: list[Said] = field(default_factory=list)
    status: int = 0  # of "Place order"'s answer
    reason_shown: str = ""  # the text at the card number, when the form came back
    order_link: str = ""  # the order page's path, once the shopper was sent to it
    order_id: str = ""  # as the order page shows it
    order_page: list[OrderPage] = field(default_factory=list)  # each time it was opened
    detail: str = ""  # a short excerpt of an unexpected page

    @property
    def kind(self) -> str:
        return {GOOD: "good", DECLINED: "declined", PROCESSOR_TIMES_OUT: "timeout"}[self.card]

    @property
    def first(self) -> Said:
        return self.said[0] if self.said else Said.OTHER

    @property
    def last(self) -> Said:
        return self.said[-1] if self.said else Said.OTHER


def said(answer: httpx.Response) -> tuple[Said, Forms]:
    """What an answer to "Place order" or "Check again" told the shopper."""
    page = Forms(answer.text)
    location = answer.headers.get("location", "")
    if answer.status_code == 303 and location.startswith("/orders/"):
        return Said.PLACED, page
    if answer.status_code == 202 and "/checkout/status" in page.hidden:
        return Said.MAY_BE_PLACED, page
    if answer.status_code == 200 and "No order was placed" in page.text:
        return Said.NOT_PLACED, page
    if answer.status_code in (402, 409, 422, 503) and "/checkout" in page.hidden:
        return Said.REFUSED, page  # the form again, the reason next to its field
    if answer.status_code >= 500:
        return Said.UNAVAILABLE, page
    return Said.OTHER, page


def card_error(answer: httpx.Response) -> str:
    """The text shown next to the card number ("" when nothing is)."""
    found = CARD_ERROR.search(answer.text)
    return Forms(found[1]).text.removeprefix("Error: ") if found else ""


def order_page(text: str) -> OrderPage | None:
    """Where the order page says the order stands."""
    if "Thank you, your order is confirmed" in text:
        return OrderPage.CONFIRMED
    if "We're finishing your order" in text:
        return OrderPage.PROCESSING
    if "This order was cancelled" in text:
        return OrderPage.CANCELLED
    return None
