"""Configuration: a bad or missing variable stops the process with one clear line."""

from __future__ import annotations

import subprocess
import sys

import pytest
from accounts.settings import AccountsSettings
from chassis.settings import describe_errors
from chassis.testing import ServiceKeys
from pydantic import ValidationError


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    keys = ServiceKeys(tmp_path_factory.mktemp("keys"), ["accounts"])
    return {
        "MOSAIC_SERVICE": "accounts",
        "PORT": "8000",
        "OPS_PORT": "8001",
        "DATABASE_URL": "postgresql://accounts:pw@127.0.0.1:5432/accounts",
        "REDIS_URL": "redis://accounts:pw@127.0.0.1:6379/0",
        "TRANSPORT_SECURITY": "mesh",
        "SERVICE_TRUST_DIR": str(keys.trust_dir),
        "SERVICE_SIGNING_KEY_FILE": str(keys.key_file("accounts")),
        "ACCOUNTS_ARGON2_MEMORY_KIB": "64",  # the start-up builds one dummy hash
    }


def start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = "from accounts.app import create_accounts_app; create_accounts_app()"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )


def test_a_good_environment_starts(env: dict[str, str]) -> None:
    assert start(env).returncode == 0


def test_without_a_signing_key_accounts_cannot_issue_tokens(env: dict[str, str]) -> None:
    result = start({k: v for k, v in env.items() if k != "SERVICE_SIGNING_KEY_FILE"})
    assert result.returncode == 78
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "SERVICE_SIGNING_KEY_FILE must be set" in result.stderr


def problem(env: dict[str, str]) -> str:
    """The line `load_settings` would print before exiting 78 (checked once above)."""
    with pytest.raises(ValidationError) as raised:
        AccountsSettings.model_validate(env)
    return describe_errors(AccountsSettings, raised.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ACCOUNTS_ACCESS_TOKEN_SECONDS", "30"),
        ("ACCOUNTS_ACCESS_TOKEN_SECONDS", "7200"),
        ("ACCOUNTS_ARGON2_TIME_COST", "0"),
        ("ACCOUNTS_SIGNIN_LIMIT_PER_ACCOUNT", "0"),
        ("ACCOUNTS_SESSION_DAYS", "many"),
    ],
)
def test_a_bad_value_is_named(env: dict[str, str], variable: str, value: str) -> None:
    assert f"{variable} is invalid" in problem({**env, variable: value})


def test_argon2_memory_must_fit_the_lanes(env: dict[str, str]) -> None:
    line = problem({**env, "ACCOUNTS_ARGON2_MEMORY_KIB": "16", "ACCOUNTS_ARGON2_PARALLELISM": "4"})
    assert "ACCOUNTS_ARGON2_MEMORY_KIB must be at least 8 x the parallelism" in line
