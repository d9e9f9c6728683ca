"""Service tokens: short-lived EdDSA JWTs that say which service is calling which.

Every call carries one in `x-service-token`: `iss` = caller, `aud` = callee, `iat`, `exp`
(at most 60 s later), `jti`. The caller signs with its own Ed25519 key; the callee checks
signature, audience and expiry against the public keys it was given by configuration
(a directory of `<service>.pub` files), never by a call at request time. Both sides cache:
a caller reuses a token for most of its life, a callee remembers tokens it has verified
until they expire or the trust store changes, so a hop costs a dictionary lookup, not a
signature.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from chassis.rotation import Stamp, file_stamp

TOKEN_HEADER = "x-service-token"  # noqa: S105 (a header name, not a secret)
ALGORITHM = "EdDSA"
LIFETIME = 60  # seconds; the most a token may live
REUSE_MARGIN = 20  # a caller gets a new token once less than this is left
LEEWAY = 5  # seconds of clock difference tolerated between services


class TokenRejected(Exception):
    """A token is missing, malformed, forged, expired or meant for someone else."""


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


class TokenSigner:
    """Signs tokens for one caller, one per audience, reused while fresh."""

    def __init__(self, issuer: str, key: Ed25519PrivateKey) -> None:
        self.issuer = issuer
        self.key = key
        self._tokens: dict[str, tuple[str, float]] = {}

    def replace_key(self, key: Ed25519PrivateKey) -> None:
        """A rotated key: tokens signed with the old one are not handed out any more."""
        self.key = key
        self._tokens.clear()

    def token_for(self, audience: str) -> str:
        now = time.time()
        cached = self._tokens.get(audience)
        if cached is not None and cached[1] - now > REUSE_MARGIN:
            return cached[0]
        issued = int(now)
        claims = {
            "iss": self.issuer,
            "aud": audience,
            "iat": issued,
            "exp": issued + LIFETIME,
            "jti": uuid.uuid4().hex,
        }
        token = jwt.encode(claims, self.key, algorithm=ALGORITHM, headers={"kid": self.issuer})
        self._tokens[audience] = (token, float(issued + LIFETIME))
        return token


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    issuer: str
    expires: float


class TrustStore:
    """Public keys by service name, from `<service>.pub` files; re-read when the folder changes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._keys: dict[str, list[Ed25519PublicKey]] = {}
        self._stamp: tuple[tuple[str, Stamp], ...] = ()
        # Bumped by every reload: what was verified under an older content proves nothing.
        self.generation = 0
        self.reload_if_changed()

    def _current_stamp(self) -> tuple[tuple[str, Stamp], ...]:
        return tuple(sorted((p.name, file_stamp(p)) for p in self.folder.glob("*.pub")))

    def reload_if_changed(self) -> bool:
        stamp = self._current_stamp()
        if stamp == self._stamp:
            return False
        keys: dict[str, list[Ed25519PublicKey]] = {}
        for path in self.folder.glob("*.pub"):
            # During a rotation a file holds the new key and the previous one: trust both.
            keys[path.stem] = [
                key
                for block in _pem_blocks(path.read_bytes())
                if isinstance(key := load_pem_public_key(block), Ed25519PublicKey)
            ]
        self._keys, self._stamp = keys, stamp
        self.generation += 1
        return True

    def keys(self, service: str) -> list[Ed25519PublicKey]:
        return self._keys.get(service, [])

    @property
    def services(self) -> frozenset[str]:
        return frozenset(self._keys)


class TokenVerifier:
    """Verifies tokens addressed to one service; remembers good ones until they expire, or
    until the trust store changes: a key taken out must stop a token at once, not when
    the token expires (up to a minute later)."""

    def __init__(self, audience: str, trust: TrustStore, cache_size: int = 10_000) -> None:
        self.audience = audience
        self.trust = trust
        self.cache_size = cache_size
        self._verified: OrderedDict[str, VerifiedToken] = OrderedDict()
        self._generation = trust.generation

    def verify(self, token: str) -> VerifiedToken:
        now = time.time()
        if self._generation != self.trust.generation:
            # Forget everything: one signature check per live token is the price of a rotation.
            self._verified.clear()
            self._generation = self.trust.generation
        known = self._verified.get(token)
        if known is not None:
            if now <= known.expires + LEEWAY:
                return known
            # Kept (until pushed out by newer tokens): a caller that goes on sending it is
            # refused by this lookup, not by a full verification (~450 µs) every time.
            raise TokenRejected("token has expired")
        verified = self._verify_signature(token, now)
        self._verified[token] = verified
        if len(self._verified) > self.cache_size:
            self._verified.popitem(last=False)
        return verified

    def _verify_signature(self, token: str, now: float) -> VerifiedToken:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise TokenRejected("token is not a well-formed JWT") from None
        if header.get("alg") != ALGORITHM:
            raise TokenRejected(f"token algorithm {header.get('alg')!r} is not accepted")
        issuer = unverified.get("iss")
        if not isinstance(issuer, str):
            raise TokenRejected("token has no issuer")
        keys = self.trust.keys(issuer)
        if not keys:
            raise TokenRejected(f"token issuer {issuer!r} has no registered key")
        claims = self._decode(token, keys)
        issued, expires = claims["iat"], claims["exp"]
        if not isinstance(issued, int | float) or not isinstance(expires, int | float):
            raise TokenRejected("token times are not numbers")
        if expires - issued > LIFETIME:
            raise TokenRejected(f"token lives longer than {LIFETIME} s")
        if issued > now + LEEWAY:
            raise TokenRejected("token is issued in the future")
        return VerifiedToken(issuer=issuer, expires=float(expires))

    def _decode(self, token: str, keys: list[Ed25519PublicKey]) -> dict[str, object]:
        """The verified claims; any one of the issuer's current keys may have signed."""
        for index, key in enumerate(keys):
            try:
                claims: dict[str, object] = jwt.decode(
                    token,
                    key,
                    algorithms=[ALGORITHM],
                    audience=self.audience,
                    leeway=LEEWAY,
                    options={"require": ["iss", "aud", "iat", "exp", "jti"]},
                )
                return claims
            except jwt.InvalidSignatureError:
                if index == len(keys) - 1:
                    raise TokenRejected("token signature does not verify") from None
            except jwt.ExpiredSignatureError:
                raise TokenRejected("token has expired") from None
            except jwt.InvalidAudienceError:
                raise TokenRejected(f"token is not addressed to {self.audience}") from None
            except jwt.PyJWTError as error:
                raise TokenRejected(f"token is invalid: {error}") from None
        raise TokenRejected("token issuer has no registered key")


def _pem_blocks(data: bytes) -> list[bytes]:
    marker = b"-----END PUBLIC KEY-----"
    return [block + marker for block in data.split(marker) if block.strip()]
