"""The committed API contract, `services/accounts/openapi.json`, generated from the app.

python -m accounts.openapi          # rewrite the file
python -m accounts.openapi --check  # exit 1 if the file and the code disagree
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from accounts.app import create_accounts_app
from accounts.settings import AccountsSettings

CONTRACT = Path(__file__).resolve().parents[2] / "openapi.json"
REGENERATE = "python -m accounts.openapi"


def contract() -> bytes:
    """The app's OpenAPI document: pretty, keys sorted, so diffs show real changes only."""
    # Placeholder settings: building the schema opens no connection and signs nothing.
    with tempfile.TemporaryDirectory() as folder:
        key_file = Path(folder) / "signing.key"
        key_file.write_bytes(
            Ed25519PrivateKey.generate().private_bytes(
                Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
            )
        )
        document = create_accounts_app(_placeholder_settings(key_file)).openapi()
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def _placeholder_settings(key_file: Path) -> AccountsSettings:
    return AccountsSettings.model_validate(
        {
            "MOSAIC_SERVICE": "accounts",
            "SERVICE_VERSION": "1",
            "PORT": 1,
            "OPS_PORT": 2,
            "DATABASE_URL": "postgresql://accounts@127.0.0.1/accounts",
            "REDIS_URL": "redis://127.0.0.1/0",
            "TRANSPORT_SECURITY": "mesh",
            "SERVICE_TRUST_DIR": tempfile.gettempdir(),  # no caller is checked here
            "SERVICE_SIGNING_KEY_FILE": str(key_file),
        }
    )


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
