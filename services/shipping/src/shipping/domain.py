"""Shipping's rules: which destinations are served, what each option costs, how a shipment
moves from created to cancelled. No I/O here; the zone table is read in `zones.py`."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Literal

CURRENCY = "USD"  # prices are quoted in USD minor units, like catalog's; callers convert
OPTIONS = ("standard", "express")  # in the order a quote lists them
MIN_QUANTITY = 1
MAX_QUANTITY = 10  # per item, like a cart line
MAX_ITEMS = 50  # like a cart's lines
PRODUCT_ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"  # catalog's product ids
MAX_PRODUCT_ID_LENGTH = 64

Status = Literal["created", "cancelled"]


@dataclass(frozen=True, slots=True)
class Rate:
    """One option's price list in a zone."""

    base: int  # minor units, for the first unit
    per_extra_unit: int  # minor units, for each further unit
    days_min: int
    days_max: int

    def price(self, units: int) -> int:
        return self.base + self.per_extra_unit * (units - 1)


@dataclass(frozen=True, slots=True)
class Zone:
    id: str
    name: str
    rates: dict[str, Rate]  # by option id, in OPTIONS order


@dataclass(frozen=True, slots=True)
class Country:
    code: str
    zone: Zone
    postal_code: re.Pattern[str] | None  # None: the country has no postal codes


@dataclass(frozen=True, slots=True)
class ZoneTable:
    countries: dict[str, Country]
    unserved: dict[str, str]  # country code -> why not


@dataclass(frozen=True, slots=True)
class Destination:
    country: str
    postal_code: str  # normalised; "" where the country has none


@dataclass(frozen=True, slots=True)
class Item:
    product_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Option:
    id: str
    name: str
    price: int  # USD minor units
    days_min: int
    days_max: int


@dataclass(frozen=True, slots=True)
class Quote:
    zone: Zone
    destination: Destination
    options: tuple[Option, ...]

    def option(self, option_id: str) -> Option:
        for option in self.options:
            if option.id == option_id:
                return option
        raise UnknownOption(option_id)


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    line1: str
    line2: str | None
    city: str
    postal_code: str  # normalised; "" where the country has none
    country: str


@dataclass(frozen=True, slots=True)
class Shipment:
    id: str
    tracking_id: str
    status: Status
    reference: str
    option: Option
    address: Address
    items: tuple[Item, ...]
    created_at: datetime.datetime
    cancelled_at: datetime.datetime | None = None


class ShippingError(Exception):
    """Base of the rules a request can break; each has a problem type (problems.py)."""

    field: str | None = None  # the request field it concerns, where there is one


class DestinationNotServed(ShippingError):
    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field


class UnknownOption(ShippingError):
    field = "option"

    def __init__(self, option_id: str) -> None:
        super().__init__(f"No shipping option {option_id!r}; choose one of {', '.join(OPTIONS)}.")


class ShipmentNotFound(ShippingError):
    def __init__(self) -> None:
        super().__init__("No such shipment.")


class IdempotencyKeyReused(ShippingError):
    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was used for a different request; use a new key for a "
            "new shipment."
        )


NAMES = {"standard": "Standard", "express": "Express"}


def destination(
    table: ZoneTable, country: str, postal_code: str | None, *, within: str = "destination"
) -> Destination:
    """The destination if Mosaic delivers there; else DestinationNotServed naming the field
    (`destination.country`, or `address.postal_code` with within="address")."""
    code = country.strip().upper()
    if code in table.unserved:
        raise DestinationNotServed(f"{within}.country", table.unserved[code])
    found = table.countries.get(code)
    if found is None:
        raise DestinationNotServed(
            f"{within}.country", f"Mosaic does not deliver to the country {country!r}."
        )
    normal = normal_postal_code(postal_code or "")
    if found.postal_code is None:
        return Destination(code, "")  # e.g. Hong Kong: addresses carry no postal code
    if not normal:
        raise DestinationNotServed(
            f"{within}.postal_code", f"A postal code is needed for deliveries to {code}."
        )
    if found.postal_code.fullmatch(normal) is None:
        raise DestinationNotServed(
            f"{within}.postal_code", f"{postal_code!r} is not a postal code of {code}."
        )
    return Destination(code, normal)


def normal_postal_code(postal_code: str) -> str:
    """Trimmed, upper-cased, runs of spaces as one: how patterns and storage see it."""
    return " ".join(postal_code.upper().split())


def quote(table: ZoneTable, where: Destination, items: tuple[Item, ...]) -> Quote:
    """Every option to `where` for these items: price by zone and by the number of units."""
    zone = table.countries[where.country].zone
    units = sum(item.quantity for item in items)
    options = tuple(
        Option(option_id, NAMES[option_id], rate.price(units), rate.days_min, rate.days_max)
        for option_id, rate in zone.rates.items()
    )
    return Quote(zone, where, options)
