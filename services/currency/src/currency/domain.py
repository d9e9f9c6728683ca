"""The currency rules: which currencies there are, how an amount converts, how it rounds. No I/O.

Money is an integer amount of minor units of an ISO 4217 currency: cents for USD, yen for
JPY (which has no minor unit), never a float. The rates are one day's euro reference rates:
units of each currency that one euro buys, exactly as published.

A conversion from A to B goes through the euro, in exact rational arithmetic:

    minor units of B = amount * (B per euro * 10^exponent(B)) / (A per euro * 10^exponent(A))

and is rounded once, at the end, to a whole minor unit of B. Nothing is rounded on the way
(no intermediate euro amount), so USD→JPY and the same figures done by hand agree exactly.

**Rounding: to the nearest minor unit, half up.** An exact tie goes up. This is the rule the
EU set for conversions to and from the euro (Council Regulation (EC) No 1103/97, Article 5:
"if the application of the conversion rate gives a result which is exactly half-way, the
sum shall be rounded up"), and the one a shopper checking a price by hand expects. Half to
even would only matter for sums of many conversions, which the shop does not make: it
converts each price once, for display. Amounts are never negative, so "up" is also "away
from zero".
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Annotated

from pydantic import Field

EURO = "EUR"
CODE_PATTERN = r"^[A-Z]{3}$"
# 10^11 minor units is a billion dollars: far above any price, and low enough that every
# result between the currencies offered stays below 2^53, exact in any JSON reader.
MAX_AMOUNT = 100_000_000_000
# A page of the shop shows at most 100 products (the catalog's largest page).
MAX_BATCH = 100

CurrencyCode = Annotated[
    str,
    Field(pattern=CODE_PATTERN, description="ISO 4217 currency code", examples=["USD"]),
]
Amount = Annotated[
    int,
    Field(
        ge=0,
        le=MAX_AMOUNT,
        description="integer minor units of the currency (cents for USD, yen for JPY)",
    ),
]


class CurrencyError(Exception):
    """A rule the request broke; the API turns each kind into problem+json."""


class UnsupportedCurrency(CurrencyError):
    def __init__(self, code: str) -> None:
        super().__init__(
            f"{code!r} is not a currency offered here; GET /v1/currencies lists the ones that are."
        )
        self.code = code


@dataclass(frozen=True, slots=True)
class Currency:
    code: str
    name: str
    exponent: int  # ISO 4217 minor unit: digits after the decimal point (JPY 0, USD 2)
    per_euro: Decimal  # units of this currency one euro buys, as published; 1 for the euro

    @property
    def minor_units_per_euro(self) -> Fraction:
        return Fraction(self.per_euro) * Fraction(10**self.exponent)


def round_half_up(numerator: int, denominator: int) -> int:
    """`numerator / denominator` to the nearest integer, an exact tie rounding up.

    Integer arithmetic only: for a non-negative numerator and a positive denominator.
    """
    quotient, remainder = divmod(numerator, denominator)
    return quotient + (2 * remainder >= denominator)


class ReferenceRates:
    """One day's reference rates against the euro, and the conversions they allow."""

    def __init__(
        self,
        *,
        date: datetime.date,
        publisher: str,
        title: str,
        url: str,
        currencies: Iterable[Currency],
        not_offered: tuple[str, ...] = (),
    ) -> None:
        self.date = date
        self.publisher = publisher
        self.title = title
        self.url = url
        self.not_offered = not_offered  # rated in the source, but not a current currency
        by_code = {c.code: c for c in sorted(currencies, key=lambda c: c.code)}
        euro = by_code.get(EURO)
        if euro is None or euro.per_euro != 1:
            raise ValueError("the rates are quoted against the euro, so they include it, at 1")
        self.currencies: Mapping[str, Currency] = by_code
        # Every pair's factor, reduced once: a conversion is then two integer operations.
        self._factors = {
            (source.code, target.code): _ratio(
                target.minor_units_per_euro / source.minor_units_per_euro
            )
            for source in by_code.values()
            for target in by_code.values()
        }

    def currency(self, code: str) -> Currency:
        try:
            return self.currencies[code]
        except KeyError:
            raise UnsupportedCurrency(code) from None

    def convert(self, amount: int, source: str, target: str) -> int:
        """`amount` minor units of `source` in minor units of `target`, rounded half up."""
        if not 0 <= amount <= MAX_AMOUNT:
            raise ValueError(f"amount must be between 0 and {MAX_AMOUNT}")
        self.currency(source)
        self.currency(target)
        numerator, denominator = self._factors[source, target]
        return round_half_up(amount * numerator, denominator)

    def exact(self, amount: int, source: str, target: str) -> Fraction:
        """The conversion before rounding, for checking and explaining a result."""
        self.currency(source)
        self.currency(target)
        numerator, denominator = self._factors[source, target]
        return Fraction(amount * numerator, denominator)


def _ratio(value: Fraction) -> tuple[int, int]:
    return value.numerator, value.denominator


# --- what the API sends and receives --------------------------------------------------------
