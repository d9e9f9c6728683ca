"""The committed API contract, `services/recommendations/openapi.json`, generated from the app.

python -m recommendations.openapi          # rewrite the file
python -m recommendations.openapi --check  # exit 1 if the file and the code disagree
"""

from __future__ import annotations

import sys
from pathlib import Path

from chassis.contract import contract_main, placeholder_env, render
from fastapi import FastAPI

from recommendations.app import create_recommendations_app
from recommendations.settings import RecommendationsSettings

CONTRACT = Path(__file__).resolve().parents[2] / "openapi.json"
REGENERATE = "python -m recommendations.openapi"


def schema_app() -> FastAPI:
    """The app with placeholder settings: building the schema binds no port."""
    env = placeholder_env("recommendations", CATALOG_URL="http://catalog.invalid")
    return create_recommendations_app(RecommendationsSettings.model_validate(env))


def contract() -> bytes:
    return render(schema_app())


if __name__ == "__main__":
    raise SystemExit(contract_main(schema_app, CONTRACT, REGENERATE, sys.argv[1:]))
