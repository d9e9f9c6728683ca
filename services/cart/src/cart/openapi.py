"""The committed API contract, `services/cart/openapi.json`, generated from the app.

python -m cart.openapi          # rewrite the file
python -m cart.openapi --check  # exit 1 if the file and the code disagree
"""

from __future__ import annotations

import sys
from pathlib import Path

from chassis.contract import contract_main, placeholder_env, render
from fastapi import FastAPI

from cart.app import create_cart_app
from cart.settings import CartSettings

CONTRACT = Path(__file__).resolve().parents[2] / "openapi.json"
REGENERATE = "python -m cart.openapi"


def schema_app() -> FastAPI:
    """The app with placeholder settings: building the schema opens no connection."""
    env = placeholder_env(
        "cart",
        DATABASE_URL="postgresql://cart@127.0.0.1/cart",
        CATALOG_URL="http://127.0.0.1:3",
    )
    return create_cart_app(CartSettings.model_validate(env))


def contract() -> bytes:
    return render(schema_app())


if __name__ == "__main__":
    raise SystemExit(contract_main(schema_app, CONTRACT, REGENERATE, sys.argv[1:]))
