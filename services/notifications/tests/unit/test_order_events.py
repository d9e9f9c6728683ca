"""OrderConfirmed v1 as notifications reads it: what passes, what is malformed."""

from __future__ import annotations

from typing import Any

import pytest
from notifications.order_events import OrderConfirmedV1
from pydantic import ValidationError


def test_a_good_event_reads(order_data: Any) -> None:
    data = order_data(order_id="3f2a9c1b-0000-4000-8000-000000000001", extra_field="ignored")
    order = OrderConfirmedV1.model_validate(data)
    assert order.short_id == "3F2A9C1B"
    assert order.total.amount == 6599
    assert order.placed_at.utcoffset() is not None


def test_orders_may_leave_out_the_guest_link_and_the_option(order_data: Any) -> None:
    data = order_data(status_url=None)
    del data["shipping_option"]
    order = OrderConfirmedV1.model_validate(data)
    assert order.status_url is None
    assert order.shipping_name == ""


def test_an_international_domain_is_sent_to_in_its_ascii_form(order_data: Any) -> None:
    order = OrderConfirmedV1.model_validate(order_data(email="ada@bücher.example"))
    assert order.email == "ada@xn--bcher-kva.example"


def _without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}


@pytest.mark.parametrize(
    "change",
    [
        lambda d: _without(d, "email"),
        lambda d: _without(d, "lines"),
        lambda d: {**d, "order_id": "not-a-uuid"},
        lambda d: {**d, "email": "not an address"},
        lambda d: {**d, "email": "ada@example.com\r\nBcc: all@example.com"},
        lambda d: {**d, "email": "Ada <ada@example.com>"},
        lambda d: {**d, "email": "a@b@example.com"},
        lambda d: {**d, "lines": []},
        lambda d: {**d, "total": {"amount": 65.99, "currency": "EUR"}},
        lambda d: {**d, "total": {"amount": "6599", "currency": "EUR"}},
        lambda d: {**d, "total": {"amount": -1, "currency": "EUR"}},
        lambda d: {**d, "total": {"amount": 6599, "currency": "USD"}},  # not the order's
        lambda d: {**d, "currency": "euro"},
        lambda d: {**d, "status_url": "https://evil.example/orders/status/x"},
        lambda d: {**d, "status_url": "//evil.example/x"},
        lambda d: {**d, "status_url": '/orders/status/x" onmouseover="x'},
        lambda d: {**d, "placed_at": "2026-11-28T07:57:00"},  # no time zone
        lambda d: {**d, "tracking_id": ""},
        lambda d: {**d, "lines": [{**d["lines"][0], "quantity": 0}]},
        lambda d: {**d, "lines": [{**d["lines"][0], "name": "  "}]},
        lambda d: {**d, "lines": "brass-compass"},
        lambda d: [],
        lambda d: None,
    ],
)
def test_malformed_data_is_refused(order_data: Any, change: Any) -> None:
    with pytest.raises(ValidationError):
        OrderConfirmedV1.model_validate(change(order_data()))
