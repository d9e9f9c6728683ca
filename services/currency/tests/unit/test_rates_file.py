"""The rates shipped with the service, and how a rates file is read and refused."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import pytest
from currency.rates import SHIPPED_RATES, RatesFileError, load_rates, read_eurofxref

SHIPPED = files("currency").joinpath("data", SHIPPED_RATES).read_text()


def eurofxref(
    cubes: str, *, time: str = "2024-06-28", sender: str = "European Central Bank"
) -> bytes:
    """A file in the ECB's eurofxref-daily.xml format."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
    xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <gesmes:subject>Reference rates</gesmes:subject>
  <gesmes:Sender><gesmes:name>{sender}</gesmes:name></gesmes:Sender>
  <Cube><Cube time='{time}'>{cubes}</Cube></Cube>
</gesmes:Envelope>""".encode()


# --- the shipped rates ------------------------------------------------------------------


def test_the_shipped_file_is_one_ecb_business_day_of_thirty_rates() -> None:
    rates = load_rates()

    assert rates.date == datetime.date(2024, 6, 28)  # a Friday
    assert rates.date.weekday() == 4
    assert rates.publisher == "European Central Bank"
    assert len(re.findall(r"<Cube currency='[A-Z]{3}' rate='[0-9.]+'/>", SHIPPED)) == 30


def test_the_shipped_file_says_where_its_figures_come_from() -> None:
    assert "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml" in SHIPPED
    assert "https://github.com/dialogplay/tool-directory/" in SHIPPED


@pytest.mark.parametrize(
    ("code", "published"),
    [
        ("USD", "1.0705"),
        ("JPY", "171.94"),
        ("GBP", "0.84638"),
        ("CHF", "0.9634"),
        ("HUF", "395.10"),
        ("IDR", "17487.21"),
        ("ZAR", "19.4970"),
    ],
)
def test_rates_are_kept_exactly_as_published(code: str, published: str) -> None:
    # As text into Decimal: trailing zeros (the published precision) survive.
    assert str(load_rates().currency(code).per_euro) == published


def test_the_figures_hang_together() -> None:
    """Cheap checks that the file holds real rates: the lev's fixed peg to the euro, and
    the Hong Kong dollar inside its 7.75-7.85 band against the US dollar."""
    assert "<Cube currency='BGN' rate='1.9558'/>" in SHIPPED
    rates = load_rates()
    per_dollar = rates.currency("HKD").per_euro / rates.currency("USD").per_euro
    assert Decimal("7.75") <= per_dollar <= Decimal("7.85")


def test_minor_units_come_from_iso_4217() -> None:
    exponents = {code: c.exponent for code, c in load_rates().currencies.items()}

    assert {code for code, exponent in exponents.items() if exponent == 0} == {"ISK", "JPY", "KRW"}
    assert set(exponents.values()) == {0, 2}


def test_a_currency_iso_4217_withdrew_is_not_offered() -> None:
    # Bulgaria adopted the euro on 1 January 2026; the lev is in the 2024 file only.
    assert "BGN" in SHIPPED
    rates = load_rates()
    assert "BGN" not in rates.currencies
    assert rates.not_offered == ("BGN",)


def test_the_euro_is_offered_at_one() -> None:
    euro = load_rates().currency("EUR")

    assert (euro.name, euro.exponent, euro.per_euro) == ("Euro", 2, 1)


# --- reading a rates file ---------------------------------------------------------------


def test_another_days_file_is_read() -> None:
    cubes = "<Cube currency='USD' rate='1.1761'/><Cube currency='JPY' rate='184.37'/>"

    rates = read_eurofxref(eurofxref(cubes, time="2026-05-08"))

    assert rates.date == datetime.date(2026, 5, 8)
    assert list(rates.currencies) == ["EUR", "JPY", "USD"]
    assert rates.convert(10000, "EUR", "JPY") == 18437


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not xml", "is not XML"),
        (eurofxref(""), "rates no current ISO 4217 currency"),
        (eurofxref("<Cube currency='BGN' rate='1.9558'/>"), "rates no current ISO 4217"),
        (eurofxref("<Cube currency='USD' rate='1.0705'/>", time="28/06/2024"), "bad date"),
        (eurofxref("<Cube currency='USD' rate='1.0705'/>", sender=" "), "names no publisher"),
        (eurofxref("<Cube currency='usd' rate='1.0705'/>"), "bad currency code 'usd'"),
        (eurofxref("<Cube currency='EUR' rate='1'/>"), "bad currency code 'EUR'"),
        (eurofxref("<Cube rate='1.0705'/>"), "bad currency code ''"),
        (
            eurofxref("<Cube currency='USD' rate='1.07'/><Cube currency='USD' rate='1.08'/>"),
            "twice",
        ),
        (eurofxref("<Cube currency='USD' rate='abc'/>"), "bad rate 'abc'"),
        (eurofxref("<Cube currency='USD' rate='0'/>"), "bad rate '0'"),
        (eurofxref("<Cube currency='USD' rate='-1.07'/>"), "bad rate"),
        (eurofxref("<Cube currency='USD' rate='NaN'/>"), "bad rate"),
        (eurofxref("<Cube currency='USD' rate='Infinity'/>"), "bad rate"),
        (eurofxref("<Cube currency='USD'/>"), "bad rate ''"),
        (eurofxref("<Cube currency='XAU' rate='0.0004'/>"), "no minor unit"),
        (
            eurofxref("<Cube currency='USD' rate='1.07'/></Cube><Cube time='2024-06-27'>"),
            "holds 2 days",
        ),
    ],
)
def test_a_bad_file_is_refused_saying_why(data: bytes, message: str) -> None:
    with pytest.raises(RatesFileError, match=re.escape(message)):
        read_eurofxref(data)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RatesFileError, match="cannot be read"):
        load_rates(tmp_path / "nothing.xml")
