"""accounts is ready only when the tokens it signs can be verified by everyone."""

from __future__ import annotations

from pathlib import Path

import pytest
from accounts.keys import UserTokens
from chassis import Credentials
from chassis.testing import ServiceKeys


def credentials(keys: ServiceKeys, *, signing: str = "accounts") -> Credentials:
    return Credentials(
        "accounts",
        transport="mesh",
        tls_files=None,
        signing_key=keys.key_file(signing),
        trust_dir=keys.trust_dir,
    )


async def test_ready_when_the_public_key_is_published(tmp_path: Path) -> None:
    keys = ServiceKeys(tmp_path, ["accounts"])
    tokens = UserTokens(credentials(keys), lifetime=600)
    await tokens.ping()
    token, _ = tokens.signer.issue("user", "session")
    assert tokens.verifier.verify(token).user_id == "user"


async def test_not_ready_when_the_published_key_is_another(tmp_path: Path) -> None:
    keys = ServiceKeys(tmp_path, ["accounts", "frontend"])
    tokens = UserTokens(credentials(keys, signing="frontend"), lifetime=600)
    with pytest.raises(RuntimeError, match="not among the keys trusted for accounts"):
        await tokens.ping()


def test_user_tokens_need_a_signing_key(tmp_path: Path) -> None:
    keys = ServiceKeys(tmp_path, ["accounts"])
    unsigned = Credentials(
        "accounts", transport="mesh", tls_files=None, signing_key=None, trust_dir=keys.trust_dir
    )
    with pytest.raises(ValueError, match="signing key"):
        UserTokens(unsigned, lifetime=600)
