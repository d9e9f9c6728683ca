"""accounts' user-token signer and verifier, on the process's own credentials.

The chassis' `Credentials` already holds the service's signing key (swapped in place when
the platform rotates it) and the trust store with accounts' published public keys
(re-read when they change): user tokens use both, so a rotation needs nothing here.

As a resource it is checked by /readyz: ready means the public half of the current
signing key is published, or every token accounts signed would be refused everywhere.
"""

from __future__ import annotations

from chassis import Credentials
from chassis.user_tokens import UserTokenSigner, UserTokenVerifier


class UserTokens:
    name = "user-tokens"

    def __init__(self, credentials: Credentials, *, lifetime: int) -> None:
        if credentials.signer is None or credentials.trust is None:
            raise ValueError("user tokens need a signing key and a trust store")
        service = credentials.signer
        self.signer = UserTokenSigner(
            lambda: service.key, lifetime=lifetime, issuer=credentials.service
        )
        self.verifier = UserTokenVerifier(credentials.trust, issuer=credentials.service)

    async def open(self) -> None:
        """Nothing to open: the credentials are the chassis' resource."""

    async def ping(self) -> None:
        if self.verifier.key(self.signer.key_id) is None:
            raise RuntimeError(
                "the public key of the signing key is not among the keys trusted for "
                f"{self.verifier.issuer} (SERVICE_TRUST_DIR)"
            )

    async def close(self) -> None:
        """Nothing to release."""
