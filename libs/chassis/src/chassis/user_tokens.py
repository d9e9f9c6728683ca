"""User access tokens: short-lived EdDSA JWTs saying which user, in which session.

accounts signs them at sign-in and refresh, with the Ed25519 key the platform gives it
(`SERVICE_SIGNING_KEY_FILE`); any service verifies them offline against accounts' public
keys in the trust store it already has (`SERVICE_TRUST_DIR/accounts.pub`, published and
rotated by the platform, watched by the chassis' `Credentials`). Proposed for the chassis
as is: it needs the chassis' `TrustStore`, PyJWT and cryptography, nothing from accounts.

    header  alg EdDSA, typ at+jwt (RFC 9068), kid = RFC 7638 thumbprint of the key
    claims  iss "accounts", aud "mosaic", sub (user id), sid (session id), iat, exp, jti

The key is the one accounts also signs service tokens with; the two kinds cannot stand in
for each other: a service token has no `typ: at+jwt`, `sub` or `sid`, and a user token's
audience names no service and its lifetime exceeds the 60 s a service token may have.

A valid signature proves the user signed in at most `exp - iat` ago, not that the session
still stands: a service that must notice a sign-out at once asks accounts
(`GET /v1/sessions/current`); the others accept up to one token lifetime of staleness.

Routes that act for a signed-in user take `UserDep` (`current_user`): the claims of a
valid `Authorization: Bearer` user token, or 401 problem+json.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import Depends, Request

from chassis.errors import Problem
from chassis.tokens import TrustStore

ALGORITHM = "EdDSA"
TOKEN_TYPE = "at+jwt"  # noqa: S105 (a media type, not a secret)
ISSUER = "accounts"
AUDIENCE = "mosaic"
LEEWAY = 5  # seconds of clock difference tolerated between services
MAX_LIFETIME = 3600  # a token claiming to live longer than this is refused

Clock = Callable[[], float]


class UserTokenRejected(Exception):
    """A user token is missing, malformed, forged, expired or not a user token."""


class UserTokenExpired(UserTokenRejected):
    """Well signed, but past its `exp`: the holder should refresh it."""


@dataclass(frozen=True, slots=True)
class UserClaims:
    user_id: str
    session_id: str
    token_id: str
    issued_at: int
    expires_at: int


def key_id(key: Ed25519PublicKey) -> str:
    """The key's RFC 7638 JWK thumbprint: names it in `kid` so verifiers pick the right one."""
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    jwk = {"crv": "Ed25519", "kty": "OKP", "x": _b64(raw)}  # members in lexical order
    return _b64(hashlib.sha256(orjson.dumps(jwk)).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class UserTokenVerifier:
    """Checks user tokens offline: `verify(token)` returns the claims or raises."""

    def __init__(
        self,
        trust: TrustStore,
        *,
        issuer: str = ISSUER,
        audience: str = AUDIENCE,
        clock: Clock = time.time,
    ) -> None:
        self.trust = trust
        self.issuer = issuer
        self.audience = audience
        self.clock = clock

    def verify(self, token: str) -> UserClaims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise UserTokenRejected("not a well-formed JWT") from None
        if header.get("alg") != ALGORITHM or header.get("typ") != TOKEN_TYPE:
            raise UserTokenRejected("not a user access token")
        key = self.key(header.get("kid"))
        if key is None:
            raise UserTokenRejected("signed with a key that is not trusted")
        now = self.clock()
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY,
                options={
                    "require": ["iss", "aud", "sub", "sid", "iat", "exp", "jti"],
                    "verify_exp": False,  # checked below against our own clock
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as error:
            raise UserTokenRejected(f"invalid: {error}") from None
        issued, expires = claims["iat"], claims["exp"]
        if not all(isinstance(t, int) for t in (issued, expires)):
            raise UserTokenRejected("its times are not whole seconds")
        if not all(isinstance(claims[c], str) and claims[c] for c in ("sub", "sid", "jti")):
            raise UserTokenRejected("its subject, session or id is not a string")
        if expires - issued > MAX_LIFETIME or expires <= issued:
            raise UserTokenRejected("its lifetime is not one accounts issues")
        if issued > now + LEEWAY:
            raise UserTokenRejected("issued in the future")
        if now >= expires + LEEWAY:
            raise UserTokenExpired("expired")
        return UserClaims(claims["sub"], claims["sid"], claims["jti"], issued, expires)

    def key(self, kid: object) -> Ed25519PublicKey | None:
        """The issuer's trusted key with this id; during a rotation it has two."""
        keys = self.trust.keys(self.issuer)
        return next((key for key in keys if key_id(key) == kid), None)


class UserTokenSigner:
    """Signs user tokens with whatever `key()` returns: the process's current signing key,
    which the chassis swaps in place when the platform rotates it."""

    def __init__(
        self,
        key: Callable[[], Ed25519PrivateKey],
        *,
        lifetime: int,
        issuer: str = ISSUER,
        audience: str = AUDIENCE,
        clock: Clock = time.time,
    ) -> None:
        if not 0 < lifetime <= MAX_LIFETIME:
            raise ValueError(f"a user token lives 1..{MAX_LIFETIME} s")
        self.key = key
        self.lifetime = lifetime
        self.issuer = issuer
        self.audience = audience
        self.clock = clock
        self._kid: tuple[Ed25519PrivateKey | None, str] = (None, "")

    def _current(self) -> tuple[Ed25519PrivateKey, str]:
        key = self.key()
        if self._kid[0] is not key:  # computed once per key, not per token
            self._kid = (key, key_id(key.public_key()))
        return key, self._kid[1]

    @property
    def key_id(self) -> str:
        return self._current()[1]

    def issue(self, user_id: str, session_id: str) -> tuple[str, int]:
        """A token for this user and session, and when it expires (epoch seconds)."""
        key, kid = self._current()
        issued = int(self.clock())
        expires = issued + self.lifetime
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user_id,
            "sid": session_id,
            "iat": issued,
            "exp": expires,
            "jti": uuid.uuid4().hex,
        }
        headers = {"typ": TOKEN_TYPE, "kid": kid}
        return jwt.encode(claims, key, algorithm=ALGORITHM, headers=headers), expires


async def current_user(request: Request) -> UserClaims:
    """The signed-in user of this request, from its user access token; 401 otherwise."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Problem(401, "user-unauthenticated", "Sign in first: no user access token.")
    verifier: UserTokenVerifier | None = getattr(request.app.state, "user_tokens", None)
    if verifier is None:
        trust = request.app.state.credentials.trust
        if trust is None:
            raise Problem(503, "security-unconfigured", "This service cannot verify users.")
        verifier = request.app.state.user_tokens = UserTokenVerifier(trust)
    try:
        return verifier.verify(token)
    except UserTokenExpired:
        raise Problem(401, "access-token-expired", "The user access token has expired.") from None
    except UserTokenRejected as rejected:
        raise Problem(401, "access-token-invalid", f"The user token is {rejected}.") from None


UserDep = Annotated[UserClaims, Depends(current_user)]
