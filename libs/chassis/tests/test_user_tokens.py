"""User access tokens: what they claim, and everything a verifier refuses."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest
from chassis.testing import ServiceKeys
from chassis.tokens import TokenRejected, TokenVerifier, TrustStore
from chassis.user_tokens import (
    MAX_LIFETIME,
    UserTokenExpired,
    UserTokenRejected,
    UserTokenSigner,
    UserTokenVerifier,
    key_id,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)

USER = "6f1c2a9e-0000-4000-8000-000000000001"
SESSION = "6f1c2a9e-0000-4000-8000-0000000000aa"


@pytest.fixture
def keys(tmp_path: Path) -> ServiceKeys:
    return ServiceKeys(tmp_path, ["accounts", "catalog", "frontend"])


def private(keys: ServiceKeys, name: str = "accounts") -> Ed25519PrivateKey:
    key = load_pem_private_key(keys.key_file(name).read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def signer(
    keys: ServiceKeys, name: str = "accounts", clock: Callable[[], float] = time.time
) -> UserTokenSigner:
    key = private(keys, name)
    return UserTokenSigner(lambda: key, lifetime=600, clock=clock)


def verifier(keys: ServiceKeys, clock: Callable[[], float] = time.time) -> UserTokenVerifier:
    return UserTokenVerifier(TrustStore(keys.trust_dir), clock=clock)


def parts(token: str) -> tuple[dict[str, object], dict[str, object]]:
    def decode(part: str) -> dict[str, object]:
        data: dict[str, object] = json.loads(
            base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        )
        return data

    header, claims, _ = token.split(".")
    return decode(header), decode(claims)


def test_a_token_claims_user_session_and_a_short_life(keys: ServiceKeys) -> None:
    token, expires = signer(keys).issue(USER, SESSION)
    header, claims = parts(token)
    assert header["alg"] == "EdDSA"
    assert header["typ"] == "at+jwt"
    assert claims["iss"] == "accounts"
    assert claims["aud"] == "mosaic"
    assert claims["sub"] == USER
    assert claims["sid"] == SESSION
    assert claims["exp"] == expires
    assert claims["exp"] - claims["iat"] == 600  # type: ignore[operator]
    assert abs(claims["iat"] - time.time()) < 5  # type: ignore[operator]
    assert isinstance(claims["jti"], str) and len(claims["jti"]) == 32


def test_every_token_has_its_own_id(keys: ServiceKeys) -> None:
    issue = signer(keys).issue
    assert parts(issue(USER, SESSION)[0])[1]["jti"] != parts(issue(USER, SESSION)[0])[1]["jti"]


def test_the_verifier_returns_the_claims(keys: ServiceKeys) -> None:
    token, expires = signer(keys).issue(USER, SESSION)
    claims = verifier(keys).verify(token)
    assert (claims.user_id, claims.session_id, claims.expires_at) == (USER, SESSION, expires)


def test_an_expired_token_is_refused_as_expired(keys: ServiceKeys) -> None:
    token, expires = signer(keys, clock=lambda: time.time() - 700).issue(USER, SESSION)
    with pytest.raises(UserTokenExpired):
        verifier(keys).verify(token)
    # ... and it is just in time a moment before its expiry (plus the leeway).
    assert verifier(keys, clock=lambda: expires - 1).verify(token).user_id == USER


def test_a_token_from_the_future_is_refused(keys: ServiceKeys) -> None:
    token, _ = signer(keys, clock=lambda: time.time() + 60).issue(USER, SESSION)
    with pytest.raises(UserTokenRejected, match="future"):
        verifier(keys).verify(token)


def test_a_token_signed_by_another_key_is_refused(keys: ServiceKeys) -> None:
    forged = signer(keys, "frontend").issue(USER, SESSION)[0]
    with pytest.raises(UserTokenRejected, match="not trusted"):
        verifier(keys).verify(forged)


def test_a_tampered_token_is_refused(keys: ServiceKeys) -> None:
    token, _ = signer(keys).issue(USER, SESSION)
    header, claims, signature = token.split(".")
    other = "OTHER-USER"
    payload = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    payload["sub"] = other
    forged_claims = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    with pytest.raises(UserTokenRejected):
        verifier(keys).verify(f"{header}.{forged_claims}.{signature}")


def _sign(keys: ServiceKeys, claims: dict[str, object], **header: object) -> str:
    key = private(keys)
    headers = {"typ": "at+jwt", "kid": key_id(key.public_key()), **header}
    return jwt.encode(claims, key, algorithm="EdDSA", headers=headers)


def _claims(**changes: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": "accounts",
        "aud": "mosaic",
        "sub": USER,
        "sid": SESSION,
        "iat": now,
        "exp": now + 600,
        "jti": "a" * 32,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.mark.parametrize(
    ("claims", "match"),
    [
        (_claims(aud="catalog"), "(?i)audience"),
        (_claims(iss="frontend"), "(?i)issuer"),
        (_claims(sub=None), "sub"),
        (_claims(sid=None), "sid"),
        (_claims(jti=None), "jti"),
        (_claims(sid=""), "session"),
        (_claims(exp=int(time.time()) + MAX_LIFETIME + 60), "lifetime"),
        (_claims(iat=int(time.time()) + 0.5), "whole seconds"),
    ],
)
def test_claims_accounts_would_not_issue_are_refused(
    keys: ServiceKeys, claims: dict[str, object], match: str
) -> None:
    with pytest.raises(UserTokenRejected, match=match):
        verifier(keys).verify(_sign(keys, claims))


def test_only_user_access_tokens_are_accepted(keys: ServiceKeys) -> None:
    # A service token signed with the very same key is not a user token ...
    with pytest.raises(UserTokenRejected, match="not a user access token"):
        verifier(keys).verify(keys.token("accounts", "mosaic"))
    # ... and neither is anything without the at+jwt type.
    with pytest.raises(UserTokenRejected, match="not a user access token"):
        verifier(keys).verify(_sign(keys, _claims(), typ="JWT"))


def test_a_user_token_is_not_a_service_token(keys: ServiceKeys) -> None:
    token, _ = signer(keys).issue(USER, SESSION)
    for audience in ("catalog", "mosaic"):
        with pytest.raises(TokenRejected):
            TokenVerifier(audience, TrustStore(keys.trust_dir)).verify(token)


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
def test_garbage_is_refused(keys: ServiceKeys, token: str) -> None:
    with pytest.raises(UserTokenRejected):
        verifier(keys).verify(token)


def test_alg_none_is_refused(keys: ServiceKeys) -> None:
    unsigned = jwt.encode(_claims(), None, algorithm="none", headers={"typ": "at+jwt"})
    with pytest.raises(UserTokenRejected):
        verifier(keys).verify(unsigned)


def test_a_rotation_is_followed_by_signer_and_verifier(keys: ServiceKeys) -> None:
    """The platform publishes the new public key beside the old one, then swaps the
    private key (the chassis swaps it in the running process): tokens signed before and
    after both verify, each naming its key."""
    current = [private(keys)]
    sign, check = UserTokenSigner(lambda: current[0], lifetime=600), verifier(keys)
    before, _ = sign.issue(USER, SESSION)

    new = Ed25519PrivateKey.generate()
    published = keys.trust_dir / "accounts.pub"
    pem = new.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    published.write_bytes(pem + published.read_bytes())
    stat = published.stat()
    os.utime(published, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert check.trust.reload_if_changed()
    current[0] = new

    after, _ = sign.issue(USER, SESSION)
    assert parts(after)[0]["kid"] == key_id(new.public_key()) != parts(before)[0]["kid"]
    assert check.verify(before).user_id == USER
    assert check.verify(after).user_id == USER
