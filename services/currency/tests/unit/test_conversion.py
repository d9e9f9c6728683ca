"""Conversion in integer minor units: exact, rounded once, half up, per currency."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from currency.domain import MAX_AMOUNT, ReferenceRates, UnsupportedCurrency, round_half_up
from currency.rates import load_rates
from hypothesis import given
from hypothesis import strategies as st

RATES = load_rates()
CODES = sorted(RATES.currencies)
currencies = st.sampled_from(CODES)
amounts = st.integers(min_value=0, max_value=MAX_AMOUNT)


def by_decimal(rates: ReferenceRates, amount: int, source: str, target: str) -> int:
    """The same conversion done another way: Decimal with ample precision, one division."""
    a, b = rates.currency(source), rates.currency(target)
    with localcontext() as context:
        context.prec = 80
        numerator = Decimal(amount) * b.per_euro * 10**b.exponent
        value = numerator / (a.per_euro * 10**a.exponent)
        return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def factor(source: str, target: str) -> Fraction:
    """Minor units of `target` that one minor unit of `source` is worth."""
    return RATES.exact(1, source, target)


# --- the rounding rule ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(0, 7, 0), (4, 10, 0), (5, 10, 1), (14, 10, 1), (15, 10, 2), (25, 10, 3), (26, 10, 3)],
)
def test_round_half_up(numerator: int, denominator: int, expected: int) -> None:
    # 25/10 goes to 3: half up, where half to even would give 2.
    assert round_half_up(numerator, denominator) == expected


@given(st.integers(min_value=0, max_value=10**30), st.integers(min_value=1, max_value=10**20))
def test_round_half_up_is_the_nearest_integer_ties_up(numerator: int, denominator: int) -> None:
    assert round_half_up(numerator, denominator) == math.floor(
        Fraction(numerator, denominator) + Fraction(1, 2)
    )


def test_an_exact_tie_in_real_rates_rounds_up() -> None:
    # Some number of euro cents converts to exactly half a yen more than a whole yen.
    tie = next(a for a in range(1, 100_000) if RATES.exact(a, "EUR", "JPY").denominator == 2)
    exact = RATES.exact(tie, "EUR", "JPY")

    assert RATES.convert(tie, "EUR", "JPY") == exact + Fraction(1, 2)


# --- known conversions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "source", "target", "expected"),
    [
        (100, "EUR", "USD", 107),  # 1.0705 dollars
        (10000, "EUR", "USD", 10705),
        (10000, "EUR", "JPY", 17194),  # the yen has no minor unit
        (10000, "EUR", "IDR", 174_872_100),  # ISO 4217 gives the rupiah two decimals
        (2400, "USD", "JPY", 3855),  # 24 / 1.0705 * 171.94 = 3854.797
        (3855, "JPY", "USD", 2400),
        (1, "JPY", "KRW", 9),  # 1474.86 / 171.94 = 8.578 won
        (1, "USD", "JPY", 2),  # 0.01 / 1.0705 * 171.94 = 1.606 yen
    ],
)
def test_known_conversions(amount: int, source: str, target: str, expected: int) -> None:
    assert RATES.convert(amount, source, target) == expected


def test_an_unsupported_currency_is_refused() -> None:
    with pytest.raises(UnsupportedCurrency):
        RATES.convert(100, "USD", "KWD")
    with pytest.raises(UnsupportedCurrency):
        RATES.convert(100, "BGN", "USD")


@pytest.mark.parametrize("amount", [-1, MAX_AMOUNT + 1])
def test_an_amount_out_of_bounds_is_refused(amount: int) -> None:
    with pytest.raises(ValueError, match="amount"):
        RATES.convert(amount, "USD", "JPY")


def test_every_result_is_exact_in_json() -> None:
    """The largest amount in any pair stays below 2^53, so no JSON reader rounds it."""
    largest = max(RATES.convert(MAX_AMOUNT, a, b) for a in CODES for b in CODES)

    assert largest < 2**53


# --- properties -------------------------------------------------------------------------


@given(amounts, currencies, currencies)
def test_the_result_is_an_exact_integer_within_half_a_minor_unit(
    amount: int, source: str, target: str
) -> None:
    result = RATES.convert(amount, source, target)

    assert type(result) is int
    assert abs(result - RATES.exact(amount, source, target)) <= Fraction(1, 2)
    assert result == by_decimal(RATES, amount, source, target)


@given(amounts, amounts, currencies, currencies)
def test_conversion_is_monotonic(a: int, b: int, source: str, target: str) -> None:
    low, high = sorted((a, b))

    assert RATES.convert(low, source, target) <= RATES.convert(high, source, target)


@given(amounts, currencies)
def test_a_currency_converts_to_itself_unchanged(amount: int, code: str) -> None:
    assert RATES.convert(amount, code, code) == amount


# Up to the catalog's largest price: most round trips then fit in the bounds both ways.
@given(st.integers(min_value=0, max_value=100_000_000), currencies, currencies)
def test_a_round_trip_is_within_one_minor_unit_into_a_finer_currency(
    amount: int, source: str, target: str
) -> None:
    """There and back loses at most half a minor unit each way.

    Into a currency whose minor unit is worth no more (USD to JPY, USD to GBP...), that is
    within one minor unit of the original. Into a coarser one (JPY to USD) a round trip
    can only be as precise as the coarser unit: within half of it, counted in the original.
    """
    there = RATES.convert(amount, source, target)
    if there > MAX_AMOUNT:  # too large to send back; nothing to check
        return
    back = RATES.convert(there, target, source)
    step = factor(source, target)

    assert abs(back - amount) <= Fraction(1, 2) + 1 / (2 * step)
    if step >= 1:
        assert abs(back - amount) <= 1


@given(
    st.integers(min_value=0, max_value=MAX_AMOUNT // 2),
    st.integers(min_value=0, max_value=MAX_AMOUNT // 2),
    currencies,
    currencies,
)
def test_converting_a_sum_differs_from_summing_conversions_by_at_most_one(
    a: int, b: int, source: str, target: str
) -> None:
    """Each conversion rounds once: a cart total converted, or its lines converted and
    added, differ by at most one minor unit per addition."""
    apart = RATES.convert(a, source, target) + RATES.convert(b, source, target)

    assert abs(RATES.convert(a + b, source, target) - apart) <= 1


@given(amounts, currencies, currencies)
def test_cross_rates_go_through_the_euro_without_rounding_there(
    amount: int, source: str, target: str
) -> None:
    """The exact value of A to B is A to euro to B: the euro leg is never rounded."""
    via_euro = RATES.exact(amount, source, "EUR") * RATES.exact(1, "EUR", target)

    assert RATES.exact(amount, source, target) == via_euro
