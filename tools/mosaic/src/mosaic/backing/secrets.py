"""Passwords generated once per $MOSAIC_HOME and kept in a file only its owner can read."""

import json
import secrets
from pathlib import Path

from mosaic.errors import UsageError
from mosaic.pki.files import write_atomically


def read_secret_file(path: Path, what: str) -> str:
    """The one value a secret file holds (a password, an admin URL), without its line end;
    a usage error naming `what` when it is missing, unreadable or empty."""
    try:
        value = path.read_text().strip()
    except FileNotFoundError:
        raise UsageError(f"{what}: no file at {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{what}: cannot read {path}: {error}") from None
    if not value:
        raise UsageError(f"{what}: {path} is empty")
    return value


class Secrets:
    """A small JSON file of named passwords (`postgres/admin`, `valkey/catalog`, ...).

    `fixed`: only read it, never add a password (a file made elsewhere and mounted
    read-only, as the provisioning Job in Kubernetes gets it).
    """

    def __init__(self, path: Path, *, fixed: bool = False) -> None:
        self.path = path
        self.fixed = fixed

    def password(self, name: str) -> str:
        """The password stored under name, generated and saved on first use."""
        values = self._read()
        if name not in values and self.fixed:
            raise UsageError(
                f"{self.path} holds no password for {name}",
                "Make it again with `mosaic deploy k8s secrets` (and apply it), then run this "
                "again.",
            )
        if name not in values:
            # URL-safe, so it goes into a URL, an SQL literal or an ACL rule unescaped.
            values[name] = secrets.token_urlsafe(24)
            self._write(values)
        return values[name]

    def stored(self) -> dict[str, str]:
        """Every password stored, by name."""
        return self._read()

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            if self.fixed:
                raise UsageError(f"no passwords file at {self.path}") from None
            return {}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise UsageError(f"cannot read the passwords in {self.path}: {error}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{self.path} is not a JSON object; delete it to start afresh")
        return {str(k): str(v) for k, v in data.items()}

    def _write(self, values: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(
            self.path, json.dumps(values, indent=2, sort_keys=True).encode(), private=True
        )
