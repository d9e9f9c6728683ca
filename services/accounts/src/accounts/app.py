"""Wiring: settings, backing services, keys and routes into one app."""

from __future__ import annotations

from datetime import timedelta

from chassis import Cache, Credentials, Database, create_app, load_settings
from fastapi import FastAPI

from accounts import api
from accounts.domain import AccountsError
from accounts.handlers import Rules
from accounts.hashing import Passwords
from accounts.keys import UserTokens
from accounts.limits import Limit, LimiterUnavailable
from accounts.problems import on_accounts_error
from accounts.settings import AccountsSettings


def rules(settings: AccountsSettings) -> Rules:
    window = settings.signin_window_seconds
    return Rules(
        session_lifetime=timedelta(days=settings.session_days),
        session_idle=timedelta(hours=settings.session_idle_hours),
        signin_per_account=Limit(
            "signin-account-client", settings.signin_limit_per_account, window
        ),
        signin_per_address=Limit("signin-address", settings.signin_limit_per_address, window),
        registration_per_address=Limit(
            "registration-address",
            settings.registration_limit_per_address,
            settings.registration_window_seconds,
        ),
        verification_requests_per_email=Limit(
            "verification-email",
            settings.verification_requests_per_email,
            settings.registration_window_seconds,
        ),
        verification_lifetime=timedelta(hours=settings.verification_hours),
        # A signed-in user confirming a change gets as many tries as a sign-in does.
        password_checks_per_user=Limit("password-user", settings.signin_limit_per_account, window),
    )


def create_accounts_app(settings: AccountsSettings | None = None) -> FastAPI:
    settings = settings or load_settings(AccountsSettings)
    credentials = Credentials.from_settings(settings)
    app = create_app(
        settings,
        title="Mosaic accounts",
        description=(
            "Identity for the shop: registration, sign-in, sessions and user access tokens, "
            "profiles and saved addresses."
        ),
        routers=[api.router],
        credentials=credentials,
        resources=[
            Database(settings.database_url, pool_size=settings.database_pool_size),
            Cache(settings.redis_url, prefix="accounts"),
            UserTokens(credentials, lifetime=settings.access_token_seconds),
        ],
    )
    app.state.rules = rules(settings)
    app.state.passwords = Passwords(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        concurrency=settings.hashing_concurrency,
    )
    app.add_exception_handler(AccountsError, on_accounts_error)
    app.add_exception_handler(LimiterUnavailable, on_accounts_error)
    return app
