"""What notifications reads of accounts' events matches what accounts documents: the JSON
Schemas accounts commits (services/accounts/events/, read as files: services never import
each other). Every field we require, accounts requires too; every optional one exists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from notifications.account_events import AddressTakenV1, VerificationV1
from pydantic import BaseModel

SCHEMAS = Path(__file__).resolve().parents[3] / "accounts" / "events"


@pytest.mark.parametrize(
    ("kind", "ours", "definition"),
    [
        ("AccountRegistered", VerificationV1, "VerificationV1"),
        ("VerificationRequested", VerificationV1, "VerificationV1"),
        ("SignUpWithTakenAddress", AddressTakenV1, "AddressTakenV1"),
    ],
)
def test_what_we_read_is_what_accounts_writes(
    kind: str, ours: type[BaseModel], definition: str
) -> None:
    envelope: dict[str, Any] = json.loads((SCHEMAS / f"{kind}.v1.json").read_text())
    assert envelope["properties"]["type"]["const"] == kind
    assert envelope["properties"]["version"]["const"] == 1
    theirs = envelope["$defs"][definition]
    required, properties = set(theirs.get("required", [])), set(theirs["properties"])
    for name, field in ours.model_fields.items():
        assert name in properties, f"{ours.__name__}.{name} is not in accounts' schema"
        if field.is_required():
            assert name in required, f"{ours.__name__}.{name} is optional in accounts' schema"
