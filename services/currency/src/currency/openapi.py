"""The committed API contract, `services/currency/openapi.json`, generated from the app.

python -m currency.openapi          # rewrite the file
python -m currency.openapi --check  # exit 1 if the file and the code disagree
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import orjson

from currency.app import create_currency_app
from currency.settings import CurrencySettings

CONTRACT = Path(__file__).resolve().parents[2] / "openapi.json"
REGENERATE = "python -m currency.openapi"


def contract() -> bytes:
    """The app's OpenAPI document: pretty, keys sorted, so diffs show real changes only."""
    # Placeholder settings: building the schema binds no port and checks no caller.
    settings = CurrencySettings.model_validate(
        {
            "MOSAIC_SERVICE": "currency",
            "SERVICE_VERSION": "1",
            "PORT": 1,
            "OPS_PORT": 2,
            "TRANSPORT_SECURITY": "mesh",
            "SERVICE_TRUST_DIR": tempfile.gettempdir(),
        }
    )
    document = create_currency_app(settings).openapi()
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def main(argv: list[str]) -> int:
    current = contract()
    if "--check" in argv:
        if CONTRACT.exists() and CONTRACT.read_bytes() == current:
            return 0
        print(f"{CONTRACT} is out of date; run: {REGENERATE}", file=sys.stderr)
        return 1
    CONTRACT.write_bytes(current)
    print(f"wrote {CONTRACT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
