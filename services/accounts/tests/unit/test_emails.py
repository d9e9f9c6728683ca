"""Email addresses: one spelling per address, and only real-looking ones."""

from __future__ import annotations

import pytest
from accounts.domain import InvalidEmail, lookup_email, normalize_email


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("ada@example.com", "ada@example.com"),
        ("  Ada.Lovelace@Example.COM ", "ada.lovelace@example.com"),
        ("ADA+shop@EXAMPLE.com", "ada+shop@example.com"),
        ("ada@bücher.example", "ada@bücher.example"),
        ("ada@B\u00dcCHER.example", "ada@bücher.example"),
        ("zoe\u0301@example.com", "zo\u00e9@example.com"),  # NFC
    ],
)
def test_addresses_are_normalized(typed: str, stored: str) -> None:
    assert normalize_email(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "ada",
        "ada@",
        "@example.com",
        "ada@@example.com",
        "ada@example",
        "ada lovelace@example.com",
        "ada@exa mple.com",
        "ada@localhost",
        "ada@example..com",
        "a" * 250 + "@example.com",
        "ada\n@example.com",
    ],
)
def test_malformed_addresses_are_refused(typed: str) -> None:
    with pytest.raises(InvalidEmail):
        normalize_email(typed)


def test_sign_in_treats_a_malformed_address_as_nobody() -> None:
    assert lookup_email("not an address") is None
    assert lookup_email(" ADA@example.com") == "ada@example.com"
