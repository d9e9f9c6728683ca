"""The currency API's models: the answers (frozen dataclasses, serialized by orjson on the hot
path and read by FastAPI for the contract) and the validated request bodies."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from currency.domain import EURO, MAX_AMOUNT, MAX_BATCH, Amount, CurrencyCode, ReferenceRates


@dataclass(frozen=True, slots=True)
class Money:
    amount: Amount
    currency: CurrencyCode


@dataclass(frozen=True, slots=True)
class Conversion:
    original: Money
    converted: Money


@dataclass(frozen=True, slots=True)
class ConversionResult:
    original: Money
    converted: Money
    rates_date: Annotated[datetime.date, Field(description="the day the rates are for")]


@dataclass(frozen=True, slots=True)
class ConversionBatch:
    items: Annotated[tuple[Conversion, ...], Field(description="in the order they were sent")]
    rates_date: Annotated[datetime.date, Field(description="the day the rates are for")]


@dataclass(frozen=True, slots=True)
class CurrencyInfo:
    code: CurrencyCode
    name: Annotated[str, Field(description="the currency's name in ISO 4217", examples=["Yen"])]
    exponent: Annotated[
        int,
        Field(
            ge=0,
            description="ISO 4217 minor unit: digits after the decimal point (JPY 0, USD 2)",
        ),
    ]
    per_euro: Annotated[
        str,
        Field(
            description="units of the currency one euro buys, exactly as published",
            examples=["171.94"],
        ),
    ]


@dataclass(frozen=True, slots=True)
class RatesSource:
    date: Annotated[datetime.date, Field(description="the business day the rates are for")]
    publisher: Annotated[str, Field(examples=["European Central Bank"])]
    title: Annotated[str, Field(examples=["Euro foreign exchange reference rates"])]
    url: str
    base: Annotated[str, Field(description="every rate is quoted against this currency")]


@dataclass(frozen=True, slots=True)
class CurrencyList:
    items: Annotated[tuple[CurrencyInfo, ...], Field(description="by code")]
    rates: RatesSource


def currency_list(rates: ReferenceRates) -> CurrencyList:
    items = tuple(
        CurrencyInfo(c.code, c.name, c.exponent, str(c.per_euro)) for c in rates.currencies.values()
    )
    source = RatesSource(rates.date, rates.publisher, rates.title, rates.url, EURO)
    return CurrencyList(items, source)


def convert_money(rates: ReferenceRates, money: Money, target: str) -> Conversion:
    converted = rates.convert(money.amount, money.currency, target)
    return Conversion(money, Money(converted, target))


class MoneyInput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Strict: "12" or 12.0 for an amount is a client bug worth hearing about.
    amount: Annotated[
        int,
        Field(
            strict=True,
            ge=0,
            le=MAX_AMOUNT,
            description="integer minor units of the currency (cents for USD, yen for JPY)",
        ),
    ]
    currency: CurrencyCode


class ConversionRequest(BaseModel):
    """Several amounts into one currency: a page of prices in one call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    to: CurrencyCode
    items: Annotated[list[MoneyInput], Field(min_length=1, max_length=MAX_BATCH)]
