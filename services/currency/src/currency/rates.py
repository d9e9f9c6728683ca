"""Reading a day's reference rates: the ECB's `eurofxref-daily.xml`, shipped or configured.

The shipped file is the ECB's euro foreign exchange reference rates for 28 June 2024, in the
ECB's own format (its header says where the figures come from). `CURRENCY_RATES_FILE` swaps
in another day's file without a code change. Rates are read as text into `Decimal`, so every
published digit survives; minor units come from ISO 4217 (the maintained `iso4217` package).

A currency the file rates but ISO 4217 no longer lists is not offered (the start-up log
names it): a shop cannot take payment in a withdrawn currency (the shipped file rates the
Bulgarian lev, which the euro replaced on 1 January 2026).
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation
from importlib.resources import files
from pathlib import Path
from xml.etree import ElementTree

from iso4217 import Currency as Iso4217

from currency.domain import EURO, Currency, ReferenceRates

SHIPPED_RATES = "eurofxref-2024-06-28.xml"
TITLE = "Euro foreign exchange reference rates"
URL = (
    "https://www.ecb.europa.eu/stats/policy_and_exchange_rates/"
    "euro_reference_exchange_rates/html/index.en.html"
)
_EUROFXREF = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}"
_GESMES = "{http://www.gesmes.org/xml/2002-08-01}"
_CODE = re.compile(r"[A-Z]{3}")


class RatesFileError(Exception):
    """The rates file cannot be used; the message says why."""


def load_rates(path: Path | None = None) -> ReferenceRates:
    """The rates in `path`, or the shipped ones; raises `RatesFileError`."""
    if path is None:
        data = files("currency").joinpath("data", SHIPPED_RATES).read_bytes()
    else:
        try:
            data = path.read_bytes()
        except OSError as error:
            raise RatesFileError(f"{path} cannot be read: {error.strerror}") from None
    return read_eurofxref(data)


def read_eurofxref(data: bytes) -> ReferenceRates:
    """Parse one day of the ECB's euro reference rates (the `eurofxref-daily.xml` format)."""
    try:
        # The operator's own file (shipped, or mounted as config), not input from a caller.
        root = ElementTree.fromstring(data)  # noqa: S314
    except ElementTree.ParseError as error:
        raise RatesFileError(f"is not XML ({error})") from None
    days = root.findall(f"./{_EUROFXREF}Cube/{_EUROFXREF}Cube[@time]")
    if len(days) != 1:
        raise RatesFileError(f"holds {len(days)} days of rates; expected one (eurofxref-daily)")
    publisher = root.findtext(f"./{_GESMES}Sender/{_GESMES}name", "").strip()
    if not publisher:
        raise RatesFileError("names no publisher (gesmes:Sender/gesmes:name)")
    [day] = days
    try:
        date = datetime.date.fromisoformat(day.get("time", ""))
    except ValueError:
        raise RatesFileError(f"has a bad date {day.get('time')!r}") from None
    currencies = [Currency(EURO, Iso4217(EURO).currency_name, _exponent(EURO), Decimal(1))]
    withdrawn = []
    for code, rate in _rates(day):
        if code not in Iso4217.__members__:
            withdrawn.append(code)
            continue
        iso = Iso4217(code)
        currencies.append(Currency(code, iso.currency_name, _exponent(code), rate))
    if len(currencies) == 1:
        raise RatesFileError("rates no current ISO 4217 currency")
    return ReferenceRates(
        date=date,
        publisher=publisher,
        title=TITLE,
        url=URL,
        currencies=currencies,
        not_offered=tuple(withdrawn),
    )


def _rates(day: ElementTree.Element) -> list[tuple[str, Decimal]]:
    found: dict[str, Decimal] = {}
    for cube in day.findall(f"{_EUROFXREF}Cube"):
        code, text = cube.get("currency", ""), cube.get("rate", "")
        if not _CODE.fullmatch(code) or code == EURO:
            raise RatesFileError(f"rates a bad currency code {code!r}")
        if code in found:
            raise RatesFileError(f"rates {code} twice")
        try:
            rate = Decimal(text)
        except InvalidOperation:
            raise RatesFileError(f"has a bad rate {text!r} for {code}") from None
        if not rate.is_finite() or rate <= 0:
            raise RatesFileError(f"has a bad rate {text!r} for {code}")
        found[code] = rate
    return list(found.items())


def _exponent(code: str) -> int:
    exponent = Iso4217(code).exponent
    if exponent is None:  # only for units like gold (XAU), which no central bank rates
        raise RatesFileError(f"{code} has no minor unit in ISO 4217")
    return exponent
