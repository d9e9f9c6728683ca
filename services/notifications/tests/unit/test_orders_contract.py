"""What notifications reads of OrderConfirmed v1 matches what orders documents: the JSON
Schema orders commits (services/orders/events/, read as a file: services never import each
other). Every field we require, orders requires too; every optional one exists there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from notifications.order_events import Address, Money, OrderConfirmedV1, OrderLine
from pydantic import BaseModel

SCHEMA = Path(__file__).resolve().parents[3] / "orders" / "events" / "OrderConfirmed.v1.json"


def _schema() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SCHEMA.read_text())
    return document


def _check(ours: type[BaseModel], theirs: dict[str, Any]) -> None:
    required = set(theirs.get("required", []))
    properties = set(theirs["properties"])
    for name, field in ours.model_fields.items():
        assert name in properties, f"{ours.__name__}.{name} is not in orders' schema"
        if field.is_required():
            assert name in required, f"{ours.__name__}.{name} is optional in orders' schema"


def test_the_envelope_is_orders_confirmed_version_1() -> None:
    envelope = _schema()
    assert envelope["properties"]["type"]["const"] == "OrderConfirmed"
    assert envelope["properties"]["version"]["const"] == 1


def test_what_we_read_is_what_orders_writes() -> None:
    definitions = _schema()["$defs"]
    _check(OrderConfirmedV1, definitions["OrderConfirmedV1"])
    _check(OrderLine, definitions["LineV1"])
    _check(Money, definitions["MoneyV1"])
    _check(Address, definitions["AddressV1"])
