"""Reading the zone table shipped with the service (`data/zones.toml`; the file says what it
holds and where its postal-code patterns come from).

Read once at start-up: a broken table stops the process before it serves anything.
"""

from __future__ import annotations

import re
import tomllib
from importlib.resources import files
from typing import Any

from shipping.domain import OPTIONS, Country, Rate, Zone, ZoneTable

SHIPPED = "zones.toml"
_CODE = re.compile(r"[A-Z]{2}")


class ZoneTableError(Exception):
    """The zone table cannot be used; the message says why."""


def load_zones() -> ZoneTable:
    return read_zones(files("shipping").joinpath("data", SHIPPED).read_text(encoding="utf-8"))


def read_zones(text: str) -> ZoneTable:
    try:
        data = tomllib.loads(text)
        zones = {zone_id: _zone(zone_id, entry) for zone_id, entry in data["zones"].items()}
        countries = {
            code: _country(code, entry, zones) for code, entry in data["countries"].items()
        }
        unserved = {_code(code): str(why) for code, why in data.get("unserved", {}).items()}
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError, re.error) as error:
        raise ZoneTableError(f"{SHIPPED}: {type(error).__name__}: {error}") from None
    if both := sorted(set(countries) & set(unserved)):
        raise ZoneTableError(f"{SHIPPED}: served and unserved at once: {', '.join(both)}")
    return ZoneTable(countries, unserved)


def _zone(zone_id: str, entry: dict[str, Any]) -> Zone:
    rates = {}
    for option in OPTIONS:
        rate = entry[option]
        days_min, days_max = (int(day) for day in rate["days"])
        base, per_extra_unit = int(rate["base"]), int(rate["per_extra_unit"])
        if base <= 0 or per_extra_unit < 0 or not 0 < days_min <= days_max:
            raise ValueError(f"zone {zone_id!r} has a bad {option} rate")
        rates[option] = Rate(base, per_extra_unit, days_min, days_max)
    return Zone(zone_id, str(entry["name"]), rates)


def _country(code: str, entry: dict[str, Any], zones: dict[str, Zone]) -> Country:
    pattern = str(entry["postal_code"])
    zone = entry["zone"]
    if zone not in zones:
        raise ValueError(f"country {code} names no zone of the table ({zone!r})")
    return Country(_code(code), zones[zone], re.compile(pattern) if pattern else None)


def _code(code: str) -> str:
    if not _CODE.fullmatch(code):
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 code")
    return code
