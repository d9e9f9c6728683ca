"""The committed API contract, `services/catalog/openapi.json`, generated from the app.

python -m catalog.openapi          # rewrite the file
python -m catalog.openapi --check  # exit 1 if the file and the code disagree
"""

from __future__ import annotations

import sys
from pathlib import Path

from chassis.contract import contract_main, placeholder_env, render
from fastapi import FastAPI

from catalog.app import create_catalog_app
from catalog.settings import CatalogSettings

CONTRACT = Path(__file__).resolve().parents[2] / "openapi.json"
REGENERATE = "python -m catalog.openapi"


def schema_app() -> FastAPI:
    """The app with placeholder settings: building the schema opens no connection."""
    env = placeholder_env(
        "catalog",
        DATABASE_URL="postgresql://catalog@127.0.0.1/catalog",
        REDIS_URL="redis://127.0.0.1/0",
    )
    return create_catalog_app(CatalogSettings.model_validate(env))


def contract() -> bytes:
    return render(schema_app())


if __name__ == "__main__":
    raise SystemExit(contract_main(schema_app, CONTRACT, REGENERATE, sys.argv[1:]))
