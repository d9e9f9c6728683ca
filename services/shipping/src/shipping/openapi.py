"""The committed API contract, `services/shipping/openapi.json`, generated from the app.

python -m shipping.openapi          # rewrite the file
python -m shipping.openapi --check  # exit 1 if the file and the code disagree
"""

from __future__ import annotations

import sys
from pathlib import Path

from chassis.contract import contract_main, placeholder_env, render
from fastapi import FastAPI

from shipping.app import create_shipping_app
from shipping.settings import ShippingSettings

CONTRACT = Path(__file__).resolve().parents[2] / "openapi.json"
REGENERATE = "python -m shipping.openapi"


def schema_app() -> FastAPI:
    """The app with placeholder settings: building the schema opens no connection."""
    env = placeholder_env("shipping", DATABASE_URL="postgresql://shipping@127.0.0.1/shipping")
    return create_shipping_app(ShippingSettings.model_validate(env))


def contract() -> bytes:
    return render(schema_app())


if __name__ == "__main__":
    raise SystemExit(contract_main(schema_app, CONTRACT, REGENERATE, sys.argv[1:]))
