"""The Idempotency-Key header, and what makes two requests "the same".

Following the IETF HTTPAPI draft "The Idempotency-Key HTTP Header Field": a missing or
malformed key is 400, the same key with a different request 422. Keys are scoped per
calling service (the store keys them by caller and key); the request is identified by a
fingerprint, a SHA-256 of its validated body in canonical JSON, so key order and
insignificant whitespace do not make a retry "different".
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated

import orjson
from chassis import Problem
from fastapi import Depends, Header
from pydantic import BaseModel

HEADER = "Idempotency-Key"
PATTERN = r"^[A-Za-z0-9._:-]{1,255}$"
_VALID = re.compile(PATTERN)
REPLAYED = "Idempotent-Replayed"  # "true" on a stored response sent again


async def _key(
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            description="1-255 characters of A-Z a-z 0-9 . _ : -; the same key and body "
            "again get the first response, with `Idempotent-Replayed: true`",
            examples=["order-0b5c5a0e-6a43-4f5c-9d49-2f6f2f0b8c11-shipment"],
        ),
    ] = None,
) -> str:
    if idempotency_key is None:
        raise Problem(400, "idempotency-key-missing", f"The {HEADER} header is required here.")
    if _VALID.fullmatch(idempotency_key) is None:
        raise Problem(
            400,
            "idempotency-key-invalid",
            f"The {HEADER} header must be 1-255 characters of A-Z a-z 0-9 . _ : -",
        )
    return idempotency_key


IdempotencyKey = Annotated[str, Depends(_key)]


def fingerprint(body: BaseModel) -> str:
    canonical = orjson.dumps(body.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()
