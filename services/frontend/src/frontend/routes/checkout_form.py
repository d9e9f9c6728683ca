"""The checkout form's rules: what a shopper typed, checked field by field (no I/O here).

Errors are keyed by the form's own field names, so each shows next to its input. The card
is read into a `Card` that goes to orders in one call and nowhere else: the form values
kept for rendering the page again never hold its number or CVC.

Each rendered form carries an Idempotency-Key made for it and remembered in the session
(the last few, for a shopper with two tabs): a double click or a retried post sends the
same key, so orders makes one order of it.
"""

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from frontend.web.sessions import Session

KEYS = "checkout_keys"
MAX_KEYS = 5

ADDRESS_FIELDS = ("name", "line1", "line2", "city", "postal_code", "country")
NEW_ADDRESS = "new"
SAVED_ADDRESS_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
OPTION_ID = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Where an error shows: the id-less name of the input (or group) it is about.
FORM = "form"  # the banner above the form: nothing in the form to fix
ADDRESS = "address"  # the address as a whole (e.g. a saved address that is gone)
CARD_NUMBER, CARD_EXPIRY, CARD_CVC = "card_number", "card_expiry", "card_cvc"

LIMITS = {"name": 200, "line1": 200, "line2": 200, "city": 100, "postal_code": 32}
REQUIRED = {
    "name": "Enter the name of the person receiving the parcel.",
    "line1": "Enter the street and number.",
    "city": "Enter the town or city.",
}


@dataclass(frozen=True)
class Card:
    """Only ever in memory for the one call to orders; its repr hides the secrets."""

    number: str = field(repr=False)
    exp_month: int
    exp_year: int
    cvc: str = field(repr=False)

    def body(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "exp_month": self.exp_month,
            "exp_year": self.exp_year,
            "cvc": self.cvc,
        }


@dataclass(frozen=True)
class CheckoutForm:
    """What the page shows in its fields; never the card number or CVC."""

    email: str = ""
    saved_address: str = NEW_ADDRESS
    address: Mapping[str, str] = field(default_factory=lambda: dict.fromkeys(ADDRESS_FIELDS, ""))
    shipping_option: str = ""
    exp_month: str = ""
    exp_year: str = ""

    @property
    def uses_saved_address(self) -> bool:
        return self.saved_address != NEW_ADDRESS

    def with_address(self, address: Mapping[str, str]) -> "CheckoutForm":
        return replace(self, address={name: address.get(name, "") for name in ADDRESS_FIELDS})


@dataclass
class Checked:
    form: CheckoutForm
    card: Card | None
    errors: dict[str, str]


def issue_key(session: Session) -> str:
    """A fresh Idempotency-Key for a rendered checkout form, remembered in the session."""
    key = secrets.token_urlsafe(24)
    issued = [k for k in session.get(KEYS, []) if isinstance(k, str)]
    session[KEYS] = [*issued[-(MAX_KEYS - 1) :], key]
    return key


def was_issued(session: Session, key: str) -> bool:
    issued = session.get(KEYS, [])
    return bool(key) and isinstance(issued, list) and key in issued


def read_form(fields: Mapping[str, str]) -> CheckoutForm:
    """The fields to show again, tidied; no card number, no CVC."""
    address = {name: " ".join(fields.get(name, "").split()) for name in ADDRESS_FIELDS}
    address["country"] = address["country"].upper()
    address["postal_code"] = address["postal_code"].upper()
    saved = fields.get("saved_address", NEW_ADDRESS).strip() or NEW_ADDRESS
    return CheckoutForm(
        email=fields.get("email", "").strip(),
        saved_address=saved if SAVED_ADDRESS_ID.fullmatch(saved) else NEW_ADDRESS,
        address=address,
        shipping_option=fields.get("shipping_option", "").strip(),
        exp_month=fields.get("exp_month", "").strip()[:2],
        exp_year=fields.get("exp_year", "").strip()[:4],
    )


def check(fields: Mapping[str, str], *, now: datetime | None = None) -> Checked:
    """The whole form, checked; `card` only when the card's fields are all well-formed."""
    form = read_form(fields)
    errors: dict[str, str] = {}
    if len(form.email) > 320 or not EMAIL.fullmatch(form.email):
        errors["email"] = "Enter an email address like name@example.com."
    if not form.uses_saved_address:
        errors |= address_errors(form.address)
    if not OPTION_ID.fullmatch(form.shipping_option):
        errors["shipping_option"] = "Choose a delivery option."
    card, card_errors = _card(fields, now or datetime.now(UTC))
    errors |= card_errors
    return Checked(form, card if not card_errors else None, errors)


def address_errors(address: Mapping[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name, message in REQUIRED.items():
        if not address.get(name):
            errors[name] = message
    for name, limit in LIMITS.items():
        value = address.get(name, "")
        if len(value) > limit:
            errors[name] = f"Use at most {limit} characters."
        elif CONTROL.search(value):
            errors[name] = "Use letters, digits and punctuation only."
    if not COUNTRY.fullmatch(address.get("country", "")):
        errors["country"] = "Enter the country's two-letter code, e.g. DE or US."
    return errors


def _card(fields: Mapping[str, str], now: datetime) -> tuple[Card, dict[str, str]]:
    errors: dict[str, str] = {}
    raw = fields.get("card_number", "")
    number = raw.replace(" ", "").replace("-", "")
    if not number:
        errors[CARD_NUMBER] = "Enter the card number."
    elif not number.isdecimal() or not number.isascii() or not 12 <= len(number) <= 19:
        errors[CARD_NUMBER] = "Enter the 12 to 19 digits on the front of the card."
    elif not luhn_valid(number):
        errors[CARD_NUMBER] = "That card number isn't valid: check the digits."
    month, year = _whole(fields.get("exp_month", "")), _whole(fields.get("exp_year", ""))
    if year is not None and year < 100:
        year += 2000  # "30" on the card means 2030
    if month is None or not 1 <= month <= 12 or year is None or not 2000 <= year <= 2100:
        errors[CARD_EXPIRY] = "Enter the expiry month (1-12) and year, e.g. 12 and 2030."
    elif (year, month) < (now.year, now.month):
        errors[CARD_EXPIRY] = "This card has expired: use another card."
    cvc = fields.get("card_cvc", "").strip()
    if not (cvc.isdecimal() and cvc.isascii() and len(cvc) in (3, 4)):
        errors[CARD_CVC] = "Enter the 3 digits on the back of the card (4 on the front for Amex)."
    return Card(number, month or 0, year or 0, cvc), errors


def _whole(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdecimal() and value.isascii() and len(value) <= 4 else None


def luhn_valid(digits: str) -> bool:
    """The card number's own check digit (ISO/IEC 7812): catches most typos before paying."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def error_key(order_field: str | None, *, saved_address: bool) -> str:
    """Where an error orders (or shipping) names by its body path shows on this form."""
    if not order_field:
        return FORM
    if order_field in {"card", "card.number"}:
        return CARD_NUMBER  # a decline is about the card: shown at its number
    if order_field in {"card.exp_month", "card.exp_year"}:
        return CARD_EXPIRY
    if order_field == "card.cvc":
        return CARD_CVC
    if order_field == "address" or order_field.startswith("address."):
        name = order_field.removeprefix("address.")
        if saved_address or name not in ADDRESS_FIELDS:
            return ADDRESS
        return name
    if order_field in {"email", "shipping_option"}:
        return order_field
    return FORM  # the cart, the currency: nothing in the form to fix


# The page's inputs in order: the first with an error gets the focus (`autofocus`).
FIELD_ORDER = ("email", ADDRESS, *ADDRESS_FIELDS, "shipping_option", CARD_NUMBER,
               CARD_EXPIRY, CARD_CVC)  # fmt: skip


def first_error(errors: Mapping[str, str]) -> str | None:
    return next((name for name in FIELD_ORDER if name in errors), None)
