"""The one rule that splits a display name into given and family names."""

from __future__ import annotations

import pytest
from accounts.domain import PersonName


@pytest.mark.parametrize(
    ("display_name", "given", "family"),
    [
        ("Ada Lovelace", "Ada", "Lovelace"),
        ("Ada King Lovelace", "Ada King", "Lovelace"),
        ("Plato", "Plato", None),
        ("  Grace   Hopper ", "Grace", "Hopper"),
    ],
)
def test_the_last_word_is_the_family_name(
    display_name: str, given: str, family: str | None
) -> None:
    name = PersonName.split(display_name)
    assert (name.given, name.family) == (given, family)
    assert name.full == " ".join(display_name.split())  # nothing shown changes
