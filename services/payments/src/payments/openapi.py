"""The committed API contract, `services/payments/openapi.json`, generated from the app.

python -m payments.openapi          # rewrite the file
python -m payments.openapi --check  # exit 1 if the file and the code disagree
"""

from __future__ import annotations

import sys
from pathlib import Path

from chassis.contract import contract_main, placeholder_env, render
from fastapi import FastAPI

from payments.app import create_payments_app
from payments.settings import PaymentsSettings

CONTRACT = Path(__file__).resolve().parents[2] / "openapi.json"
REGENERATE = "python -m payments.openapi"


def schema_app() -> FastAPI:
    """The app with placeholder settings: building the schema opens no connection."""
    env = placeholder_env("payments", DATABASE_URL="postgresql://payments@127.0.0.1/payments")
    return create_payments_app(PaymentsSettings.model_validate(env))


def contract() -> bytes:
    return render(schema_app())


if __name__ == "__main__":
    raise SystemExit(contract_main(schema_app, CONTRACT, REGENERATE, sys.argv[1:]))
