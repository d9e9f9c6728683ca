"""The currency service's HTTP API, /v1: routes only; the rules are in `domain`, the models in
`schemas`."""

from __future__ import annotations

from typing import Annotated

import orjson
from chassis import callers
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from currency.domain import CODE_PATTERN, MAX_AMOUNT, ReferenceRates
from currency.problems import INVALID
from currency.schemas import (
    ConversionBatch,
    ConversionRequest,
    ConversionResult,
    CurrencyList,
    Money,
    convert_money,
    currency_list,
)

router = APIRouter(prefix="/v1")

# Who may call: the shop's pages, and orders (it prices a checkout in the shopper's currency).
READERS = [callers("frontend", "orders")]


# async, though it awaits nothing: FastAPI runs a plain `def` dependency in a worker thread.
async def _rates(request: Request) -> ReferenceRates:
    rates: ReferenceRates = request.app.state.rates
    return rates


RatesDep = Annotated[ReferenceRates, Depends(_rates)]
Code = Annotated[str, Query(pattern=CODE_PATTERN, description="ISO 4217 code", examples=["USD"])]


def _json(value: object) -> Response:
    # orjson serializes the frozen dataclasses directly: the hot path skips pydantic.
    return Response(orjson.dumps(value), media_type="application/json")


@router.get("/currencies", response_model=CurrencyList, dependencies=READERS)
async def list_currencies(rates: RatesDep) -> Response:
    """The currencies prices can be shown in, and the day and source of the rates."""
    return _json(currency_list(rates))


@router.get("/convert", response_model=ConversionResult, responses=INVALID, dependencies=READERS)
async def convert(
    rates: RatesDep,
    amount: Annotated[
        int,
        Query(ge=0, le=MAX_AMOUNT, description="integer minor units (cents for USD, yen for JPY)"),
    ],
    source: Annotated[str, Query(alias="from", pattern=CODE_PATTERN, description="ISO 4217 code")],
    target: Annotated[str, Query(alias="to", pattern=CODE_PATTERN, description="ISO 4217 code")],
) -> Response:
    """One amount into another currency, rounded to its minor unit (half up)."""
    conversion = convert_money(rates, Money(amount, source), target)
    return _json(ConversionResult(conversion.original, conversion.converted, rates.date))


@router.post("/convert", response_model=ConversionBatch, responses=INVALID, dependencies=READERS)
async def convert_batch(rates: RatesDep, request: ConversionRequest) -> Response:
    """Many amounts into one currency in one call (a page of prices); results in order.

    Changes nothing, so it is safe to repeat: callers may send an `Idempotency-Key` (any
    value, it is not stored) so that their client retries it like a GET.
    """
    items = tuple(
        convert_money(rates, Money(item.amount, item.currency), request.to)
        for item in request.items
    )
    return _json(ConversionBatch(items, rates.date))
