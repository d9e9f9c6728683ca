"""Saved addresses: what a valid one is, and how it is tidied."""

from __future__ import annotations

from typing import Any

import pytest
from accounts.addresses import AddressDraft
from pydantic import ValidationError

ADDRESS: dict[str, Any] = {
    "recipient": "  Ada   Lovelace ",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "sw1y 4jh",
    "country": "GB",
}


def test_an_address_is_trimmed_and_its_postal_code_upper_cased() -> None:
    draft = AddressDraft.model_validate(ADDRESS)
    assert draft.recipient == "Ada Lovelace"
    assert draft.postal_code == "SW1Y 4JH"
    assert (draft.line2, draft.region) == ("", "")


@pytest.mark.parametrize(
    "change",
    [
        {"recipient": ""},
        {"recipient": "   "},
        {"recipient": "x" * 101},
        {"line1": "two\nlines"},
        {"line1": "nul\x00"},
        {"line2": "x" * 201},
        {"city": None},
        {"postal_code": "-123"},
        {"postal_code": "12345678901234567"},
        {"postal_code": "12#45"},
        {"country": "gb"},
        {"country": "XX"},
        {"country": "GBR"},
        {"phone": "+44"},
    ],
)
def test_invalid_addresses_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        AddressDraft.model_validate({**ADDRESS, **change})


@pytest.mark.parametrize("field", ["recipient", "line1", "city", "postal_code", "country"])
def test_required_fields(field: str) -> None:
    with pytest.raises(ValidationError):
        AddressDraft.model_validate({k: v for k, v in ADDRESS.items() if k != field})
