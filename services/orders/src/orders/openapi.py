"""The committed API contract, `services/orders/openapi.json`, generated from the app.

python -m orders.openapi          # rewrite the file
python -m orders.openapi --check  # exit 1 if the file and the code disagree
"""

from __future__ import annotations

import sys
from pathlib import Path

from chassis.contract import contract_main, placeholder_env, render
from fastapi import FastAPI

from orders.app import create_orders_app
from orders.settings import OrdersSettings

CONTRACT = Path(__file__).resolve().parents[2] / "openapi.json"
REGENERATE = "python -m orders.openapi"


def schema_app() -> FastAPI:
    """The app with placeholder settings: building the schema opens no connection."""
    env = placeholder_env(
        "orders",
        DATABASE_URL="postgresql://orders@127.0.0.1/orders",
        CART_URL="http://127.0.0.1:3",
        CATALOG_URL="http://127.0.0.1:3",
        CURRENCY_URL="http://127.0.0.1:3",
        PAYMENTS_URL="http://127.0.0.1:3",
        SHIPPING_URL="http://127.0.0.1:3",
    )
    return create_orders_app(OrdersSettings.model_validate(env))


def contract() -> bytes:
    return render(schema_app())


if __name__ == "__main__":
    raise SystemExit(contract_main(schema_app, CONTRACT, REGENERATE, sys.argv[1:]))
