"""Fixtures for every notifications test: OrderConfirmed events as orders publishes them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from chassis.events import Event

DataFactory = Callable[..., dict[str, Any]]
EventFactory = Callable[..., Event]


def money(amount: int, currency: str = "EUR") -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


@pytest.fixture
def order_data() -> DataFactory:
    """`order_data(**changes)`: the data of an OrderConfirmed v1 event, with changes."""

    def make(**changes: Any) -> dict[str, Any]:
        currency = changes.pop("currency", "EUR")
        data: dict[str, Any] = {
            "order_id": str(uuid.uuid4()),
            "email": "ada@example.com",
            "currency": currency,
            "lines": [
                {
                    "product_id": "brass-compass",
                    "name": "Brass compass",
                    "quantity": 2,
                    "unit_price": money(2450, currency),
                    "line_total": money(4900, currency),
                },
                {
                    "product_id": "wool-socks",
                    "name": "Wool socks",
                    "quantity": 1,
                    "unit_price": money(1200, currency),
                    "line_total": money(1200, currency),
                },
            ],
            "subtotal": money(6100, currency),
            "shipping": money(499, currency),
            "shipping_option": "standard",
            "total": money(6599, currency),
            "tracking_id": "MOS7Q2K9XW4HB3D",
            "status_url": "/orders/status/Xy-Token_123",
            "placed_at": "2026-11-28T07:57:00+00:00",
            "address": {
                "name": "Ada Lovelace",
                "line1": "Unter den Linden 1",
                "line2": None,
                "postal_code": "10117",
                "city": "Berlin",
                "region": None,
                "country": "DE",
            },
        }
        data.update(changes)
        return data

    return make


@pytest.fixture
def order_confirmed(order_data: DataFactory) -> EventFactory:
    """`order_confirmed(**data_changes)`: a new OrderConfirmed v1 envelope (a new id)."""

    def make(**changes: Any) -> Event:
        return Event(type="OrderConfirmed", version=1, data=order_data(**changes))

    return make
