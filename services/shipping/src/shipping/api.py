"""Shipping's HTTP API, /v1: routes only; rules in `domain`, storage in `store`.

Quotes are for the shop's pages and for orders; shipments are orders' alone (the
operator, `admin`, may read them).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from chassis import Database, callers, dependency
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from shipping import handlers
from shipping.domain import ZoneTable
from shipping.idempotency import REPLAYED, IdempotencyKey
from shipping.problems import INVALID, KEYED, MALFORMED, NOT_FOUND
from shipping.schemas import (
    REFERENCE_PATTERN,
    QuoteRequest,
    QuoteView,
    ShipmentList,
    ShipmentRequest,
    ShipmentView,
    quote_view,
    shipment_view,
)
from shipping.store import Store

router = APIRouter(prefix="/v1")

QUOTERS = callers("frontend", "orders")
SHIPPER = callers("orders")  # also a parameter: keys are scoped per calling service
READERS = callers("admin", "orders")


async def _store(database: Annotated[Database, Depends(dependency(Database))]) -> Store:
    return Store(database)


async def _zones(request: Request) -> ZoneTable:
    zones: ZoneTable = request.app.state.zones
    return zones


StoreDep = Annotated[Store, Depends(_store)]
ZonesDep = Annotated[ZoneTable, Depends(_zones)]
Caller = Annotated[str, SHIPPER]
ShipmentId = Annotated[uuid.UUID, Path(description="the shipment's id")]
JSON = "application/json"


@router.post("/quotes", dependencies=[QUOTERS], response_model=QuoteView, responses=INVALID)
async def quote(body: QuoteRequest, zones: ZonesDep) -> QuoteView:
    """Every shipping option to a destination for these items, priced in USD minor units.
    Reads only: safe to repeat, no key needed."""
    return quote_view(handlers.quote_for(zones, body))


@router.post(
    "/shipments",
    dependencies=[SHIPPER],
    status_code=201,
    response_model=ShipmentView,
    responses=KEYED,
)
async def create_shipment(
    body: ShipmentRequest, key: IdempotencyKey, caller: Caller, store: StoreDep, zones: ZonesDep
) -> Response:
    """Create a shipment, once per Idempotency-Key: the same key and body again get the
    first response byte for byte (with `Idempotent-Replayed: true`), even after a cancel."""
    stored = await handlers.create_shipment(store, zones, caller, key, body)
    response = Response(stored.body, status_code=stored.status_code, media_type=JSON)
    response.headers["Location"] = f"{router.prefix}/shipments/{stored.shipment_id}"
    if stored.replayed:
        response.headers[REPLAYED] = "true"
    return response


@router.get("/shipments", dependencies=[READERS], response_model=ShipmentList, responses=MALFORMED)
async def shipments_by_reference(
    store: StoreDep,
    reference: Annotated[
        str,
        Query(pattern=REFERENCE_PATTERN, description="e.g. order:<uuid>; oldest first"),
    ],
) -> ShipmentList:
    found = await store.by_reference(reference)
    return ShipmentList(items=[shipment_view(shipment) for shipment in found])


@router.get(
    "/shipments/{shipment_id}",
    dependencies=[READERS],
    response_model=ShipmentView,
    responses={**NOT_FOUND, **MALFORMED},
)
async def get_shipment(shipment_id: ShipmentId, store: StoreDep) -> ShipmentView:
    return shipment_view(await store.shipment(str(shipment_id)))


@router.post(
    "/shipments/{shipment_id}/cancel",
    dependencies=[SHIPPER],
    response_model=ShipmentView,
    responses={**NOT_FOUND, **MALFORMED},
)
async def cancel_shipment(shipment_id: ShipmentId, store: StoreDep) -> ShipmentView:
    """Cancel the shipment; cancelling it again answers the same (it stays cancelled)."""
    return shipment_view(await store.cancel(str(shipment_id)))
