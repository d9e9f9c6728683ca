"""Saved addresses: what one is, and how many a user may keep. No I/O."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from accounts.domain import AccountsError

MAX_ADDRESSES = 20  # per user: a shop needs a handful; a bound keeps a row count sane

# ISO 3166-1 alpha-2, officially assigned codes (2024).
_ALPHA2 = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
"""
COUNTRIES = frozenset(_ALPHA2.split())


class AddressNotFound(AccountsError):
    """No address with this id among the user's own: someone else's looks the same."""

    def __init__(self) -> None:
        super().__init__("There is no such address in this account.")


class AddressLimitReached(AccountsError):
    def __init__(self) -> None:
        super().__init__(f"An account keeps at most {MAX_ADDRESSES} addresses; remove one first.")


def _trimmed(value: str) -> str:
    return unicodedata.normalize("NFC", " ".join(value.split()))


def _not_blank(value: str) -> str:
    if not value:
        raise ValueError("must not be blank")
    return value


def _postal_code(value: str) -> str:
    return " ".join(value.split()).upper()


def _country(value: str) -> str:
    if value not in COUNTRIES:
        raise ValueError("not an ISO 3166-1 alpha-2 country code")
    return value


# One line of text, trimmed; no control characters (a label printer would choke on them).
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
Line = Annotated[
    str,
    Field(min_length=1, max_length=200, pattern=_PRINTABLE),
    AfterValidator(_trimmed),
    AfterValidator(_not_blank),
]
OptionalLine = Annotated[str, Field(max_length=200, pattern=_PRINTABLE), AfterValidator(_trimmed)]
ShortLine = Annotated[
    str,
    Field(min_length=1, max_length=100, pattern=_PRINTABLE),
    AfterValidator(_trimmed),
    AfterValidator(_not_blank),
]
OptionalShortLine = Annotated[
    str, Field(max_length=100, pattern=_PRINTABLE), AfterValidator(_trimmed)
]
PostalCode = Annotated[
    str,
    Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]*$"),
    AfterValidator(_postal_code),
]
Country = Annotated[
    str,
    Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code", examples=["DE"]),
    AfterValidator(_country),
]


class AddressDraft(BaseModel):
    """An address as sent to save or replace one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recipient: ShortLine
    line1: Line
    line2: OptionalLine = ""
    city: ShortLine
    region: OptionalShortLine = ""
    postal_code: PostalCode
    country: Country


class Address(AddressDraft):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    created_at: datetime
    updated_at: datetime


class AddressList(BaseModel):
    items: list[Address]
