"""Prices as shoppers read them on the pages and in e-mails: minor units per currency."""

from decimal import Decimal

import pytest
from chassis.money import format_price, minor_unit_digits
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (2400, "USD", "$24.00"),
        (5, "USD", "$0.05"),
        (0, "USD", "$0.00"),
        (123456789, "EUR", "€1,234,567.89"),
        (-1999, "GBP", "-£19.99"),
        (1500, "JPY", "¥1,500"),
        (7, "JPY", "¥7"),
        (1500, "jpy", "¥1,500"),
        (1234, "KWD", "KWD\N{NO-BREAK SPACE}1.234"),
        (12345, "KWD", "KWD\N{NO-BREAK SPACE}12.345"),
        (1299, "CHF", "CHF\N{NO-BREAK SPACE}12.99"),
        (2400, "usd", "$24.00"),
        (-499, "USD", "-$4.99"),
    ],
)
def test_format_price(amount: int, currency: str, shown: str) -> None:
    assert format_price(amount, currency) == shown


@pytest.mark.parametrize("amount", [24.0, Decimal("24"), "2400", True])
def test_only_integer_minor_units_are_prices(amount: object) -> None:
    with pytest.raises(TypeError):
        format_price(amount, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["", "US", "USDX", "EURO", "12$", "E1R", "€", "ÜSD"])
def test_currency_must_be_an_iso_code(currency: str) -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        format_price(100, currency)


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(["USD", "JPY", "KWD"]))
def test_shown_price_reads_back_as_the_exact_amount(amount: int, currency: str) -> None:
    shown = format_price(amount, currency)
    number = shown.replace("$", "").replace("¥", "").replace("KWD\N{NO-BREAK SPACE}", "")
    value = Decimal(number.replace(",", ""))
    assert value.scaleb(minor_unit_digits(currency)) == amount
