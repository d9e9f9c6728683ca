"""Service tokens with real keys: signing, caching, verification, rotation."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from chassis.testing import ServiceKeys
from chassis.tokens import LEEWAY, TokenRejected, TokenSigner, TokenVerifier, TrustStore
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


@pytest.fixture
def keys(tmp_path: Path) -> ServiceKeys:
    return ServiceKeys(tmp_path, ["frontend", "catalog"])


@pytest.fixture
def verifier(keys: ServiceKeys) -> TokenVerifier:
    return TokenVerifier("catalog", TrustStore(keys.trust_dir))


def test_a_token_is_reused_while_fresh_and_carries_every_claim(keys: ServiceKeys) -> None:
    first, second = keys.token("frontend", "catalog"), keys.token("frontend", "catalog")
    assert first == second
    claims = jwt.decode(first, options={"verify_signature": False})
    assert {"iss", "aud", "iat", "exp", "jti"} <= set(claims)
    assert claims["exp"] - claims["iat"] == 60


def test_verifies_and_caches(keys: ServiceKeys, verifier: TokenVerifier) -> None:
    token = keys.token("frontend", "catalog")
    assert verifier.verify(token).issuer == "frontend"
    assert verifier.verify(token).issuer == "frontend"  # from the cache


def test_refuses_other_audiences_and_unknown_issuers(
    keys: ServiceKeys, verifier: TokenVerifier
) -> None:
    with pytest.raises(TokenRejected, match="not addressed"):
        verifier.verify(keys.token("frontend", "cart"))
    stranger = TokenSigner("stranger", Ed25519PrivateKey.generate())
    with pytest.raises(TokenRejected, match="no registered key"):
        verifier.verify(stranger.token_for("catalog"))


def test_refuses_a_key_pretending_to_be_frontend(verifier: TokenVerifier) -> None:
    impostor = TokenSigner("frontend", Ed25519PrivateKey.generate())
    with pytest.raises(TokenRejected, match="signature"):
        verifier.verify(impostor.token_for("catalog"))


def test_refuses_tokens_that_live_too_long(verifier: TokenVerifier, keys: ServiceKeys) -> None:
    key = keys._signers["frontend"].key
    now = int(time.time())
    claims = {"iss": "frontend", "aud": "catalog", "iat": now, "exp": now + 3600, "jti": "x"}
    token = jwt.encode(claims, key, algorithm="EdDSA")
    with pytest.raises(TokenRejected, match="longer than"):
        verifier.verify(token)


def test_a_cached_token_is_refused_once_expired_and_again_without_verifying_again(
    verifier: TokenVerifier, keys: ServiceKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = keys.token("frontend", "catalog")
    verifier.verify(token)
    later = time.time() + 60 + LEEWAY + 1
    monkeypatch.setattr(time, "time", lambda: later)

    def no_signature_check(*_: object) -> None:
        raise AssertionError("verified the signature again")

    monkeypatch.setattr(verifier, "_verify_signature", no_signature_check)
    for _ in range(3):
        with pytest.raises(TokenRejected, match="expired"):
            verifier.verify(token)


def test_during_a_rotation_both_keys_in_the_trust_file_verify(
    keys: ServiceKeys, verifier: TokenVerifier
) -> None:
    old_token = keys.token("frontend", "catalog")
    new_key = Ed25519PrivateKey.generate()
    pub = keys.trust_dir / "frontend.pub"
    new_pem = new_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    pub.write_bytes(new_pem + pub.read_bytes())
    verifier.trust.reload_if_changed()
    new_token = TokenSigner("frontend", new_key).token_for("catalog")
    assert verifier.verify(new_token).issuer == "frontend"
    assert verifier.verify(old_token).issuer == "frontend"


def test_a_replaced_signing_key_is_used_at_once(keys: ServiceKeys) -> None:
    signer = TokenSigner("frontend", Ed25519PrivateKey.generate())
    before = signer.token_for("catalog")
    signer.replace_key(Ed25519PrivateKey.generate())
    assert signer.token_for("catalog") != before


def test_a_key_taken_out_of_the_trust_store_stops_its_cached_tokens_at_once(
    keys: ServiceKeys, verifier: TokenVerifier
) -> None:
    token = keys.token("frontend", "catalog")
    assert verifier.verify(token).issuer == "frontend"  # verified, so cached
    replacement = Ed25519PrivateKey.generate().public_key()
    fresh = keys.trust_dir / "frontend.pub.new"
    fresh.write_bytes(replacement.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    fresh.replace(keys.trust_dir / "frontend.pub")  # as the runner and Kubernetes do
    assert verifier.trust.reload_if_changed()
    with pytest.raises(TokenRejected, match="signature does not verify"):
        verifier.verify(token)


def test_a_service_taken_out_of_the_trust_store_is_refused_at_once(
    keys: ServiceKeys, verifier: TokenVerifier
) -> None:
    token = keys.token("frontend", "catalog")
    verifier.verify(token)
    (keys.trust_dir / "frontend.pub").unlink()
    assert verifier.trust.reload_if_changed()
    with pytest.raises(TokenRejected, match="no registered key"):
        verifier.verify(token)
