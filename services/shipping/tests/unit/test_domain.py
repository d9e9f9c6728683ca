"""Shipping's rules and the shipped zone table, without I/O."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shipping.domain import (
    OPTIONS,
    Destination,
    DestinationNotServed,
    Item,
    UnknownOption,
    destination,
    normal_postal_code,
    quote,
)
from shipping.tracking import PATTERN, new_tracking_id
from shipping.zones import ZoneTableError, load_zones, read_zones

ZONES = load_zones()

# The `zipex` examples of Google's address metadata, next to the patterns copied from it.
EXAMPLES = {
    "US": ["95014", "22162-1010"],
    "CA": ["H3Z 2Y7", "V8X 3X4", "T0L 1K0", "K1A 0B1"],
    "GB": ["EC1Y 8SY", "GIR 0AA", "M2 5BQ", "M34 4AB", "CR0 2YR", "DN16 9AA", "BFPO 61"],
    "DE": ["26133", "53225"],
    "FR": ["33380", "34092"],
    "NL": ["1234 AB", "2490 AA"],
    "PT": ["2725-079", "1250-096"],
    "IE": ["A65 F4E2"],
    "SE": ["11455", "123 45"],
    "PL": ["00-950", "05-470"],
    "CZ": ["100 00", "251 66"],
    "JP": ["154-0023", "350-1106"],
    "LV": ["LV-1073"],
    "LI": ["9496", "9485"],
    "MC": ["98000"],
    "MT": ["NXR 01", "BZN 1130"],
    "BR": ["40301-110", "70002-900"],
    "IL": ["9614303"],
    "TW": ["104", "10603", "40867"],
}


@pytest.mark.parametrize(
    ("country", "postal_code"), [(c, p) for c, ps in EXAMPLES.items() for p in ps]
)
def test_the_published_examples_are_served(country: str, postal_code: str) -> None:
    assert destination(ZONES, country, postal_code) == Destination(country, postal_code)


def test_the_table_is_whole() -> None:
    assert len(ZONES.countries) >= 40
    assert {"AQ"} <= set(ZONES.unserved)
    for country in ZONES.countries.values():
        assert list(country.zone.rates) == list(OPTIONS)
        for rate in country.zone.rates.values():
            assert rate.base > 0
            assert 0 < rate.days_min <= rate.days_max
        standard, express = country.zone.rates.values()
        assert express.base > standard.base and express.days_max <= standard.days_min


def test_postal_codes_are_compared_trimmed_upper_cased_single_spaced() -> None:
    assert normal_postal_code("  ec1y \t 8sy ") == "EC1Y 8SY"
    assert destination(ZONES, " gb ", "ec1y   8sy") == Destination("GB", "EC1Y 8SY")


def test_a_country_without_postal_codes_ignores_one() -> None:
    assert destination(ZONES, "HK", None) == Destination("HK", "")
    assert destination(ZONES, "HK", "999077") == Destination("HK", "")


@pytest.mark.parametrize(
    ("country", "postal_code", "field"),
    [
        ("AQ", "", "destination.country"),
        ("XX", "1", "destination.country"),
        ("DEU", "10115", "destination.country"),
        ("DE", "1011", "destination.postal_code"),
        ("DE", "10115 1", "destination.postal_code"),  # a full match, not a prefix
        ("US", "x95014", "destination.postal_code"),
        ("DE", None, "destination.postal_code"),
    ],
)
def test_not_served(country: str, postal_code: str | None, field: str) -> None:
    with pytest.raises(DestinationNotServed) as raised:
        destination(ZONES, country, postal_code)
    assert raised.value.field == field


def test_an_address_names_its_own_fields() -> None:
    with pytest.raises(DestinationNotServed) as raised:
        destination(ZONES, "DE", "1", within="address")
    assert raised.value.field == "address.postal_code"


def test_the_first_unit_costs_the_base_and_each_further_one_the_extra() -> None:
    where = destination(ZONES, "US", "94103")
    one = quote(ZONES, where, (Item("a", 1),))
    five = quote(ZONES, where, (Item("a", 2), Item("b", 3)))
    assert [(o.id, o.price) for o in one.options] == [("standard", 599), ("express", 1999)]
    assert [(o.id, o.price) for o in five.options] == [
        ("standard", 599 + 4 * 100),
        ("express", 1999 + 4 * 300),
    ]
    assert five.option("express").days_max == 2
    with pytest.raises(UnknownOption):
        five.option("overnight")


@given(st.lists(st.integers(1, 10), min_size=1, max_size=50))
def test_more_units_never_cost_less(quantities: list[int]) -> None:
    where = Destination("FR", "75001")
    items = tuple(Item(f"p-{n}", q) for n, q in enumerate(quantities))
    fewer = quote(ZONES, where, items[:-1] or items)
    more = quote(ZONES, where, items)
    for cheap, dear in zip(fewer.options, more.options, strict=True):
        assert 0 < cheap.price <= dear.price


def test_tracking_ids_look_alike_and_never_repeat() -> None:
    ids = {new_tracking_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(re.fullmatch(PATTERN, tracking) for tracking in ids)


@pytest.mark.parametrize(
    "text",
    [
        "not toml [",
        "[zones]\n[countries]\nDE = { zone = 'nowhere', postal_code = '' }",
        "[zones.a]\nname = 'A'\nstandard = { base = 1, per_extra_unit = 0, days = [1, 2] }\n",
        "[zones]\n[countries]\nde = { zone = 'x', postal_code = '' }",
        "[zones]\n[countries]\n[unserved]\nAQ = 'x'\nDEU = 'y'",
    ],
)
def test_a_broken_zone_table_is_refused(text: str) -> None:
    with pytest.raises(ZoneTableError):
        read_zones(text)
