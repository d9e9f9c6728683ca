"""The accounts service's configuration: every field an environment variable.

The defaults are the production values. Tests make password hashing cheap through the same
variables (`ACCOUNTS_ARGON2_*`), never through a code path of their own.
"""

from __future__ import annotations

import os

from chassis import CacheSettings, DatabaseSettings, ServiceSettings
from pydantic import Field, model_validator


def _cpus() -> int:
    return os.cpu_count() or 1


class AccountsSettings(ServiceSettings, DatabaseSettings, CacheSettings):
    # --- tokens and sessions -------------------------------------------------------------
    access_token_seconds: int = Field(
        default=600,
        validation_alias="ACCOUNTS_ACCESS_TOKEN_SECONDS",
        ge=60,
        le=3600,
        description="seconds a user access token lives (60..3600)",
    )
    session_days: int = Field(
        default=30,
        validation_alias="ACCOUNTS_SESSION_DAYS",
        ge=1,
        le=365,
        description="days a session lives at most, however active (1..365)",
    )
    session_idle_hours: int = Field(
        default=168,
        validation_alias="ACCOUNTS_SESSION_IDLE_HOURS",
        ge=1,
        le=8760,
        description="hours without a refresh after which a session ends (1..8760)",
    )
    session_cache_seconds: int = Field(
        default=30,
        validation_alias="ACCOUNTS_SESSION_CACHE_SECONDS",
        ge=1,
        le=300,
        description="seconds Valkey may vouch for a session before Postgres is asked again",
    )

    # --- password hashing (argon2id) -----------------------------------------------------
    # OWASP's first Argon2id setting (19 MiB, 2 passes, 1 lane): ~75 ms on one core here.
    # RFC 9106's 64 MiB / 3 passes / 4 lanes took ~0.5 s on the 2-core machines we run on,
    # which turns sign-in into an easy way to exhaust the CPU.
    argon2_time_cost: int = Field(
        default=2,
        validation_alias="ACCOUNTS_ARGON2_TIME_COST",
        ge=1,
        le=20,
        description="argon2id passes (1..20)",
    )
    argon2_memory_kib: int = Field(
        default=19_456,
        validation_alias="ACCOUNTS_ARGON2_MEMORY_KIB",
        ge=8,
        le=1_048_576,
        description="argon2id memory in KiB (8..1048576; at least 8 x parallelism)",
    )
    argon2_parallelism: int = Field(
        default=1,
        validation_alias="ACCOUNTS_ARGON2_PARALLELISM",
        ge=1,
        le=16,
        description="argon2id lanes (1..16)",
    )
    hashing_concurrency: int = Field(
        default_factory=_cpus,
        validation_alias="ACCOUNTS_HASHING_CONCURRENCY",
        ge=1,
        le=64,
        description="passwords hashed at once per process (1..64; default: the CPU count)",
    )

    # --- brute-force limits ------------------------------------------------------------
    signin_window_seconds: int = Field(
        default=900,
        validation_alias="ACCOUNTS_SIGNIN_WINDOW_SECONDS",
        ge=1,
        le=86_400,
        description="the sliding window of the sign-in limits, in seconds (1..86400)",
    )
    signin_limit_per_account: int = Field(
        default=10,
        validation_alias="ACCOUNTS_SIGNIN_LIMIT_PER_ACCOUNT",
        ge=1,
        le=10_000,
        description="failed sign-ins allowed per (email address, client address) in the window",
    )
    signin_limit_per_address: int = Field(
        default=50,
        validation_alias="ACCOUNTS_SIGNIN_LIMIT_PER_ADDRESS",
        ge=1,
        le=100_000,
        description="failed sign-ins allowed per client address in the window",
    )
    registration_window_seconds: int = Field(
        default=3600,
        validation_alias="ACCOUNTS_REGISTRATION_WINDOW_SECONDS",
        ge=1,
        le=86_400,
        description="the sliding window of the registration limit, in seconds (1..86400)",
    )
    registration_limit_per_address: int = Field(
        default=20,
        validation_alias="ACCOUNTS_REGISTRATION_LIMIT_PER_ADDRESS",
        ge=1,
        le=100_000,
        description="registrations allowed per client address in the window",
    )

    verification_hours: int = Field(
        default=24,
        validation_alias="ACCOUNTS_VERIFICATION_HOURS",
        ge=1,
        le=720,
        description="hours an address-verification link works (1..720); once only",
    )
    verification_requests_per_email: int = Field(
        default=5,
        validation_alias="ACCOUNTS_VERIFICATION_REQUESTS_PER_EMAIL",
        ge=1,
        le=1000,
        description="new verification links one address may be sent per registration window",
    )

    @model_validator(mode="after")
    def _can_sign_user_tokens(self) -> AccountsSettings:
        if self.service_signing_key_file is None:
            raise ValueError(
                "SERVICE_SIGNING_KEY_FILE must be set: accounts signs user tokens with it"
            )
        if self.argon2_memory_kib < 8 * self.argon2_parallelism:
            raise ValueError("ACCOUNTS_ARGON2_MEMORY_KIB must be at least 8 x the parallelism")
        return self
