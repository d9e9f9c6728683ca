"""The events accounts publishes (stream `events:accounts`), versioned like orders' (see
services/orders/src/orders/events.py): their payloads, and the JSON Schemas committed under
`services/accounts/events/` (`python -m accounts.events` rewrites them; a test checks them).

Envelope (chassis.events.Event): {"id", "type", "version", "occurred_at", "data"}.
Readers ignore fields they do not know; anything but a new optional field is a new version.

Who reads them: notifications, which mails the address (the link to prove it, or a note to
its owner that someone tried to sign up with it). The link's token travels in the event
(the mail needs it) and is kept at rest only as a hash (`verifications.token_hash`).
"""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from chassis import envelopes
from chassis.envelopes import EnvelopeV1, Payload
from chassis.envelopes import OutboxEvent as OutboxEvent  # what the store writes
from pydantic import AwareDatetime, Field

from accounts.domain import PersonName

SCHEMAS = Path(__file__).resolve().parents[2] / "events"
STREAM = "events:accounts"
VERIFY_PATH = "/verify-email/"  # the shop's page (frontend) that takes the link's token


class VerificationV1(Payload):
    """A link that proves the address: sent when an account is registered (or registered
    again before it was verified) and when its owner asks for the link again."""

    user_id: uuid.UUID
    email: str
    display_name: str = Field(
        description="given + family name; deprecated: read given_name and family_name",
        json_schema_extra={"deprecated": True},
    )
    given_name: str | None = Field(default=None, description="what the mail greets them by")
    family_name: str | None = None
    verify_url: str = Field(description="a path on the shop carrying the one-time token")
    expires_at: AwareDatetime


class AddressTakenV1(Payload):
    """Someone tried to sign up with an address that has an account: its owner hears of it
    (the one who tried sees the same answer as for a free address)."""

    user_id: uuid.UUID
    email: str
    display_name: str = Field(
        description="given + family name; deprecated: read given_name and family_name",
        json_schema_extra={"deprecated": True},
    )
    given_name: str | None = Field(default=None, description="what the mail greets them by")
    family_name: str | None = None
    attempted_at: AwareDatetime


class AccountRegisteredEventV1(EnvelopeV1):
    type: Literal["AccountRegistered"]
    data: VerificationV1


class VerificationRequestedEventV1(EnvelopeV1):
    type: Literal["VerificationRequested"]
    data: VerificationV1


class SignUpWithTakenAddressEventV1(EnvelopeV1):
    type: Literal["SignUpWithTakenAddress"]
    data: AddressTakenV1


ENVELOPES: dict[tuple[str, int], type[EnvelopeV1]] = {
    ("AccountRegistered", 1): AccountRegisteredEventV1,
    ("VerificationRequested", 1): VerificationRequestedEventV1,
    ("SignUpWithTakenAddress", 1): SignUpWithTakenAddressEventV1,
}


def verification(
    kind: Literal["AccountRegistered", "VerificationRequested"],
    *,
    user_id: str,
    email: str,
    name: PersonName,
    token: str,
    expires_at: datetime,
) -> OutboxEvent:
    return OutboxEvent(
        kind,
        1,
        {
            "user_id": user_id,
            "email": email,
            **_name(name),
            "verify_url": VERIFY_PATH + token,
            "expires_at": expires_at.astimezone(UTC).isoformat(),
        },
    )


def address_taken(*, user_id: str, email: str, name: PersonName) -> OutboxEvent:
    return OutboxEvent(
        "SignUpWithTakenAddress",
        1,
        {
            "user_id": user_id,
            "email": email,
            **_name(name),
            "attempted_at": datetime.now(UTC).isoformat(),
        },
    )


def _name(name: PersonName) -> dict[str, str | None]:
    """display_name stays in v1 (its readers require it), derived from the two parts."""
    return {"display_name": name.full, "given_name": name.given, "family_name": name.family}


def schema(kind: str, version: int) -> bytes:
    """The JSON Schema of an event's envelope, as committed."""
    return envelopes.schema("accounts", kind, version, ENVELOPES[(kind, version)])


def schema_path(kind: str, version: int) -> Path:
    return envelopes.schema_path(SCHEMAS, kind, version)


def main(argv: list[str]) -> int:
    return envelopes.main("accounts", ENVELOPES, SCHEMAS, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
