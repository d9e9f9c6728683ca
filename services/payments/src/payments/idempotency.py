"""Idempotency keys: the header, the request's fingerprint, and the stored answer.

A key is claimed by inserting it, in the same transaction as the work it guards (see
store.Ledger.claim): the unique (caller, key) index makes a concurrent duplicate wait for
that transaction, then read what it stored. The answer is stored as the exact bytes sent,
so a replay is byte-identical. Request errors (422, 404) roll the claim back with the
rest: the caller may fix the request and send it again under the same key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import Header

from payments.domain import IdempotencyKeyReused

KEY_PATTERN = r"^[A-Za-z0-9._:-]{1,255}$"
REPLAYED_HEADER = "Idempotent-Replayed"

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        pattern=KEY_PATTERN,
        min_length=1,
        max_length=255,
        description=(
            "1-255 of [A-Za-z0-9._:-], scoped to the calling service: the same key and "
            "request again get the stored answer (with `Idempotent-Replayed: true`); the "
            "same key with another request is 422 `idempotency-key-reused`"
        ),
        examples=["order-8a4c1d6e-charge"],
    ),
]


@dataclass(frozen=True, slots=True)
class Answer:
    """A response as stored under a key: its status and exact body."""

    status: int
    body: bytes
    replayed: bool = False

    @property
    def media_type(self) -> str:
        return "application/problem+json" if self.status >= 400 else "application/json"


@dataclass(frozen=True, slots=True)
class Stored:
    """What an earlier request under the same key stored."""

    fingerprint: str
    answer: Answer

    def replay(self, fingerprint: str) -> Answer:
        if fingerprint != self.fingerprint:
            raise IdempotencyKeyReused
        return Answer(self.answer.status, self.answer.body, replayed=True)


def fingerprint(request: dict[str, Any]) -> str:
    """A hash of the request's canonical form (sorted keys, no whitespace).

    Callers pass only what may be stored: for a charge, the card's brand, last four digits,
    length and expiry, never the number or CVC. A plain hash of a full card number could
    be reversed by trying the few numbers that match a known brand, last four and Luhn.
    """
    canonical = orjson.dumps(request, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()
