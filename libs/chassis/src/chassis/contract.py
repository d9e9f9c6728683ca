"""A service's committed API contract (`openapi.json`), generated from its app.

A service's `openapi.py` names its app factory and settings, then hands over:

    if __name__ == "__main__":
        raise SystemExit(contract_main(build, Path(__file__).parents[2] / "openapi.json",
                                       "python -m catalog.openapi", sys.argv[1:]))

`--check` exits 1 when the file and the code disagree. Its test, and the checks every
service's contract test makes (routes, problem+json errors, a problem type per error), use
the helpers at the end.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
from fastapi import FastAPI


def placeholder_env(service: str, **extra: Any) -> dict[str, Any]:
    """Settings for building the schema only: no port is bound, no caller checked."""
    return {
        "MOSAIC_SERVICE": service,
        "SERVICE_VERSION": "1",
        "PORT": 1,
        "OPS_PORT": 2,
        "TRANSPORT_SECURITY": "mesh",
        "SERVICE_TRUST_DIR": tempfile.gettempdir(),
        **extra,
    }


def render(app: FastAPI) -> bytes:
    """The OpenAPI document: pretty, keys sorted, so diffs show real changes only."""
    return orjson.dumps(app.openapi(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def contract_main(
    build: Callable[[], FastAPI], path: Path, regenerate: str, argv: list[str]
) -> int:
    current = render(build())
    if "--check" in argv:
        if path.exists() and path.read_bytes() == current:
            return 0
        print(f"{path} is out of date; run: {regenerate}", file=sys.stderr)
        return 1
    path.write_bytes(current)
    print(f"wrote {path}")
    return 0


def errors_not_problem_json(document: bytes) -> list[str]:
    """Every documented error response (status >= 400) whose media type is not exactly
    problem+json, as `METHOD /path status`: what a contract test expects to be empty."""
    wrong = []
    for path, operations in orjson.loads(document)["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                media = set(response.get("content", {}))
                if int(status) >= 400 and media != {"application/problem+json"}:
                    wrong.append(f"{method.upper()} {path} {status}")
    return wrong


def assert_up_to_date(path: Path, current: bytes, regenerate: str) -> None:
    """The committed file is what the code generates now (the drift test)."""
    committed = path.read_bytes() if path.exists() else b""
    assert committed == current, (
        f"{path.name} differs from the API in the code. If the change is intended, "
        f"run `{regenerate}` from the repository root with the workspace venv and commit "
        "the file; if not, the code broke the contract."
    )


def operations(document: bytes) -> dict[str, list[str]]:
    """Each path of the document with its methods, sorted: `{"/v1/carts": ["post"]}`."""
    paths: dict[str, dict[str, Any]] = orjson.loads(document)["paths"]
    return {path: sorted(methods) for path, methods in paths.items()}


def error_classes(base: type, *modules: ModuleType, besides: tuple[type, ...] = ()) -> set[type]:
    """The subclasses of `base` the modules define, but `base` and `besides` (abstract ones
    a route never raises): what a service's problem table must name, each of them."""
    return {
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, base)
        and value is not base
        and value not in besides
    }
