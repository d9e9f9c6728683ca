"""The committed API contract, `services/currency/openapi.json`, generated from the app.

python -m currency.openapi          # rewrite the file
python -m currency.openapi --check  # exit 1 if the file and the code disagree
"""

from __future__ import annotations

import sys
from pathlib import Path

from chassis.contract import contract_main, placeholder_env, render
from fastapi import FastAPI

from currency.app import create_currency_app
from currency.settings import CurrencySettings

CONTRACT = Path(__file__).resolve().parents[2] / "openapi.json"
REGENERATE = "python -m currency.openapi"


def schema_app() -> FastAPI:
    """The app with placeholder settings: building the schema binds no port."""
    return create_currency_app(CurrencySettings.model_validate(placeholder_env("currency")))


def contract() -> bytes:
    return render(schema_app())


if __name__ == "__main__":
    raise SystemExit(contract_main(schema_app, CONTRACT, REGENERATE, sys.argv[1:]))
