"""A shopper's name: given and family names, and the whole name the profile and the v1
events still carry (derived, deprecated) since the display name column is gone."""

from __future__ import annotations

import pytest
from accounts.domain import PersonName


@pytest.mark.parametrize(
    ("given", "family", "full"),
    [
        ("Ada", "Lovelace", "Ada Lovelace"),
        ("Ada King", "Lovelace", "Ada King Lovelace"),
        ("Plato", None, "Plato"),
    ],
)
def test_the_whole_name_is_given_then_family(given: str, family: str | None, full: str) -> None:
    assert PersonName(given, family).full == full
