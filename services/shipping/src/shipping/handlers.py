"""What each request does: plain functions over the zone table and the store."""

from __future__ import annotations

import datetime
import uuid

import orjson

from shipping.domain import (
    Address,
    Item,
    Quote,
    Shipment,
    ZoneTable,
    destination,
    quote,
)
from shipping.idempotency import fingerprint
from shipping.schemas import QuoteRequest, ShipmentRequest, shipment_view
from shipping.store import Claim, Store, StoredResponse
from shipping.tracking import new_tracking_id


def quote_for(table: ZoneTable, request: QuoteRequest) -> Quote:
    where = destination(table, request.destination.country, request.destination.postal_code)
    return quote(table, where, _items(request))


async def create_shipment(
    store: Store, table: ZoneTable, caller: str, key: str, request: ShipmentRequest
) -> StoredResponse:
    """A new shipment, or the response the key already stands for. A request refused here
    (destination not served, unknown option) claims no key: it would be refused again."""
    address = request.address
    where = destination(table, address.country, address.postal_code, within="address")
    option = quote(table, where, _items(request)).option(request.option)
    shipment = Shipment(
        id=str(uuid.uuid4()),
        tracking_id=new_tracking_id(),
        status="created",
        reference=request.reference,
        option=option,
        address=Address(
            name=address.name,
            line1=address.line1,
            line2=address.line2,
            city=address.city,
            postal_code=where.postal_code,
            country=where.country,
        ),
        items=_items(request),
        created_at=datetime.datetime.now(datetime.UTC),
    )
    claim = Claim(caller, key, fingerprint(request))
    return await store.create(claim, shipment, 201, render(shipment))


def render(shipment: Shipment) -> bytes:
    """The shipment as JSON: the exact bytes a first response and its replays carry."""
    return orjson.dumps(shipment_view(shipment).model_dump(mode="json"))


def _items(request: QuoteRequest | ShipmentRequest) -> tuple[Item, ...]:
    return tuple(Item(item.product_id, item.quantity) for item in request.items)
