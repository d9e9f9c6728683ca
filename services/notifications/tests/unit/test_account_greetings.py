"""accounts' mails greet by the given name; events written before accounts had one (its
release 1 of the name split) carry only the display name, which is greeted instead."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from notifications.account_events import AddressTakenV1, VerificationV1
from notifications.emails import RenderedEmail, render_address_taken, render_verification

SHOP = "https://shop.example"
BASE = {"user_id": "0b8f3f7e-3c1a-4c39-9d55-1d0e0f6c2a11", "email": "ada@example.com"}


def _both(extra: dict[str, Any]) -> list[RenderedEmail]:
    link = {"verify_url": "/verify-email/" + "t" * 32, "expires_at": datetime.now(UTC)}
    verification = VerificationV1.model_validate({**BASE, **link, **extra})
    taken = AddressTakenV1.model_validate({**BASE, "attempted_at": datetime.now(UTC), **extra})
    return [
        render_verification(verification, shop_url=SHOP, again=False),
        render_address_taken(taken, shop_url=SHOP),
    ]


@pytest.mark.parametrize(
    ("names", "hello"),
    [
        ({"display_name": "Ada Lovelace", "given_name": "Ada"}, "Hello Ada,"),
        ({"display_name": "Ada Lovelace"}, "Hello Ada Lovelace,"),  # written before
    ],
)
def test_the_mail_greets_by_the_given_name(names: dict[str, str], hello: str) -> None:
    for mail in _both(names):
        assert mail.text.startswith(hello + "\n")
        assert f">{hello}</h1>" in mail.html
