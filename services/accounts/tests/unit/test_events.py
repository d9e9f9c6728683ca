"""The events accounts publishes match their committed schemas and their models."""

from __future__ import annotations

from datetime import UTC, datetime

from accounts import events
from accounts.domain import PersonName

ADA = PersonName("Ada", "Lovelace")


def test_the_committed_schemas_are_up_to_date() -> None:
    assert events.main(["--check"]) == 0


def test_what_accounts_writes_validates_against_its_models() -> None:
    written = [
        events.verification(
            "AccountRegistered",
            user_id="0b8f3f7e-3c1a-4c39-9d55-1d0e0f6c2a11",
            email="ada@example.com",
            name=ADA,
            token="t0ken",
            expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        ),
        events.address_taken(
            user_id="0b8f3f7e-3c1a-4c39-9d55-1d0e0f6c2a11",
            email="ada@example.com",
            name=ADA,
        ),
    ]
    for event in written:
        envelope = events.ENVELOPES[(event.type, event.version)]
        envelope.model_validate(event.envelope())
    assert written[0].data["verify_url"] == "/verify-email/t0ken"
    assert written[1].data["given_name"] == "Ada"
