"""The checkout's secrets: how its Idempotency-Key and guest link token are kept.

Neither is stored as sent. The key is stored as a hash together with its owner (so one
shopper's key never finds another's order); the request body is fingerprinted with an HMAC
under the key (the body holds the card, so a plain hash of it could be brute-forced); the
guest link token (32 random bytes) is looked up by its SHA-256, and kept for replays of the
checkout's answer only sealed under the key: without the key, the database does not give
the token away. Never in plain, not even while the saga runs: a driver without the key
(the recovery) gives the order a second token, kept only as its hash too
(`Store.new_status_link`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from orders.domain import Owner

TOKEN_BYTES = 32


def key_hash(owner: Owner, key: str) -> bytes:
    return hashlib.sha256(f"{owner.kind}:{owner.id}:{key}".encode()).digest()


def fingerprint(key: str, body: bytes) -> bytes:
    """The request's fingerprint: `body` is its canonical JSON (sorted keys)."""
    return hmac.new(key.encode(), body, hashlib.sha256).digest()


def new_token() -> str:
    return _encode(secrets.token_bytes(TOKEN_BYTES))


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def seal(token: str, key: str, order_id: str) -> bytes:
    """The token XOR a pad only the key holder can compute (unique per order)."""
    return bytes(a ^ b for a, b in zip(_decode(token), _pad(key, order_id), strict=True))


def unseal(sealed: bytes, key: str, order_id: str) -> str:
    return _encode(bytes(a ^ b for a, b in zip(sealed, _pad(key, order_id), strict=True)))


def _pad(key: str, order_id: str) -> bytes:
    return hmac.new(key.encode(), f"status-token:{order_id}".encode(), hashlib.sha256).digest()


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode(token: str) -> bytes:
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    if len(raw) != TOKEN_BYTES:
        raise ValueError("not a status token")
    return raw
