"""Card rules: the number (digits, length, Luhn), the brand, expiry and CVC. No I/O.

Luhn is our own dozen lines: it is the check itself, with nothing around it a library
would add, and property tests (tests/unit/test_cards.py) hold it to the definition.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

MIN_DIGITS = 12
MAX_DIGITS = 19
YEARS_AHEAD = 20  # a card valid for longer than this is a typo, not a card

# Issuer identification number prefixes as the networks publish them; no two overlap.
_BRANDS: tuple[tuple[str, tuple[range, ...]], ...] = (
    ("amex", (range(34, 35), range(37, 38))),
    ("mastercard", (range(51, 56), range(2221, 2721))),
    ("discover", (range(6011, 6012), range(644, 650), range(65, 66))),
    ("diners", (range(300, 306), range(36, 37), range(38, 40))),
    ("jcb", (range(3528, 3590),)),
    ("unionpay", (range(62, 63),)),
    ("visa", (range(4, 5),)),
)


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str  # in the request body, e.g. "card.number"
    message: str  # for the shopper, next to the field


class CardInvalid(Exception):
    """The card fails one or more rules; `errors` says which field and why."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(" ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Card:
    """A card that passed every rule. The number travels to the processor and nowhere
    else: it is left out of the repr so no log line or traceback can show it."""

    number: str = field(repr=False)
    brand: str
    exp_month: int
    exp_year: int

    @property
    def last4(self) -> str:
        return self.number[-4:]


def digits_of(number: str) -> str:
    """The number without the spaces and dashes people type in it."""
    return number.replace(" ", "").replace("-", "")


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check: every second digit from the right doubled (minus 9 when
    above 9), the sum divisible by 10. `digits` must be ASCII digits only."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = ord(char) - ord("0")
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def brand_of(digits: str) -> str:
    for brand, prefixes in _BRANDS:
        for prefix in prefixes:
            width = len(str(prefix.start))
            if digits[:width].isdigit() and int(digits[:width]) in prefix:
                return brand
    return "unknown"


def validate(number: str, exp_month: int, exp_year: int, cvc: str, today: datetime.date) -> Card:
    """The card, or `CardInvalid` naming every field that breaks a rule."""
    errors: list[FieldError] = []
    digits = digits_of(number)
    if not (digits.isascii() and digits.isdigit()):
        errors.append(FieldError("card.number", "Enter the card number using digits only."))
    elif not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        errors.append(
            FieldError("card.number", f"A card number has {MIN_DIGITS} to {MAX_DIGITS} digits.")
        )
    elif not luhn_valid(digits):
        errors.append(FieldError("card.number", "This card number is not valid."))
    brand = brand_of(digits)
    errors.extend(_expiry_errors(exp_month, exp_year, today))
    cvc_length = 4 if brand == "amex" else 3
    if not (cvc.isascii() and cvc.isdigit() and len(cvc) == cvc_length):
        errors.append(FieldError("card.cvc", f"The security code is {cvc_length} digits."))
    if errors:
        raise CardInvalid(errors)
    return Card(digits, brand, exp_month, exp_year)


def _expiry_errors(exp_month: int, exp_year: int, today: datetime.date) -> list[FieldError]:
    if not 1 <= exp_month <= 12:
        return [FieldError("card.exp_month", "The expiry month is 1 to 12.")]
    if exp_year > today.year + YEARS_AHEAD:
        return [FieldError("card.exp_year", "The expiry year is too far in the future.")]
    # A card is valid through the last day of its expiry month (UTC).
    if exp_year < today.year:
        return [FieldError("card.exp_year", "This card has expired.")]
    if exp_year == today.year and exp_month < today.month:
        return [FieldError("card.exp_month", "This card has expired.")]
    return []
