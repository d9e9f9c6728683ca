"""The committed API contract, `services/cart/openapi.json`, generated from the app.

python -m cart.openapi          # rewrite the file
python -m cart.openapi --check  # exit 1 if the file and the code disagree
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import orjson

from cart.app import create_cart_app
from cart.settings import CartSettings

CONTRACT = Path(__file__).resolve().parents[2] / "openapi.json"
REGENERATE = "python -m cart.openapi"


def contract() -> bytes:
    """The app's OpenAPI document: pretty, keys sorted, so diffs show real changes only."""
    # Placeholder settings: building the schema opens no connection.
    settings = CartSettings.model_validate(
        {
            "MOSAIC_SERVICE": "cart",
            "SERVICE_VERSION": "1",
            "PORT": 1,
            "OPS_PORT": 2,
            "DATABASE_URL": "postgresql://cart@127.0.0.1/cart",
            "CATALOG_URL": "http://127.0.0.1:3",
            "TRANSPORT_SECURITY": "mesh",
            "SERVICE_TRUST_DIR": tempfile.gettempdir(),  # no caller is checked here
        }
    )
    document = create_cart_app(settings).openapi()
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
