"""Prices in e-mails read as on the shop's pages: minor units per currency, JPY whole."""

from __future__ import annotations

import pytest
from notifications.money import format_price


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (2400, "USD", "$24.00"),
        (5, "EUR", "€0.05"),
        (123456789, "GBP", "£1,234,567.89"),
        (1500, "JPY", "¥1,500"),
        (7, "JPY", "¥7"),
        (1500, "jpy", "¥1,500"),
        (12345, "KWD", "KWD\N{NO-BREAK SPACE}12.345"),
        (1200, "CHF", "CHF\N{NO-BREAK SPACE}12.00"),
        (0, "EUR", "€0.00"),
        (-499, "USD", "-$4.99"),
    ],
)
def test_prices_are_formatted_per_currency(amount: int, currency: str, shown: str) -> None:
    assert format_price(amount, currency) == shown


@pytest.mark.parametrize("amount", [24.0, True, "2400"])
def test_anything_but_integer_minor_units_is_refused(amount: object) -> None:
    with pytest.raises(TypeError):
        format_price(amount, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["", "EURO", "E1R", "€"])
def test_a_currency_must_be_an_iso_code(currency: str) -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        format_price(100, currency)
