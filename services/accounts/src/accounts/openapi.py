"""The committed API contract, `services/accounts/openapi.json`, generated from the app.

python -m accounts.openapi          # rewrite the file
python -m accounts.openapi --check  # exit 1 if the file and the code disagree
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from chassis.contract import contract_main, placeholder_env, render
from chassis.testing import ServiceKeys
from fastapi import FastAPI

from accounts.app import create_accounts_app
from accounts.settings import AccountsSettings

CONTRACT = Path(__file__).resolve().parents[2] / "openapi.json"
REGENERATE = "python -m accounts.openapi"


def contract() -> bytes:
    # Building the schema opens no connection and signs nothing, but accounts refuses to
    # start without a signing key: a throwaway one.
    with tempfile.TemporaryDirectory() as folder:
        return render(_schema_app(Path(folder)))


def _schema_app(folder: Path) -> FastAPI:
    keys = ServiceKeys(folder, ["accounts"])
    env = placeholder_env(
        "accounts",
        DATABASE_URL="postgresql://accounts@127.0.0.1/accounts",
        REDIS_URL="redis://127.0.0.1/0",
        SERVICE_SIGNING_KEY_FILE=str(keys.key_file("accounts")),
    )
    return create_accounts_app(AccountsSettings.model_validate(env))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        code = contract_main(lambda: _schema_app(Path(folder)), CONTRACT, REGENERATE, sys.argv[1:])
    raise SystemExit(code)
