"""The OrderConfirmed events notifications' tests publish in orders' place (conftest.py's
`order_confirmed`) are events orders could publish: valid against orders' committed schema
(services/orders/events/OrderConfirmed.v1.json), with no field orders does not write. A
hand-made event that drifts from the producer fails here, naming the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chassis.stand_ins import closed_schema

# No stubs in the lock (types-jsonschema is not declared), as in chassis.stand_ins.
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from services.notifications.tests.conftest import EventFactory

SCHEMA = Path(__file__).resolve().parents[3] / "orders" / "events" / "OrderConfirmed.v1.json"


def off_schema(envelope: dict[str, Any]) -> list[str]:
    validator = Draft202012Validator(closed_schema(json.loads(SCHEMA.read_text())))
    return [
        f"{'.'.join(str(part) for part in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(envelope)
    ]


def test_the_tests_order_confirmed_is_one_orders_could_publish(
    order_confirmed: EventFactory,
) -> None:
    assert off_schema(order_confirmed().model_dump(mode="json")) == []


def test_a_field_orders_does_not_write_is_caught(order_confirmed: EventFactory) -> None:
    event = order_confirmed(gift_wrap=True).model_dump(mode="json")
    assert off_schema(event) == [
        "data: Additional properties are not allowed ('gift_wrap' was unexpected)"
    ]
