"""`mosaic admin policy`: the allowlists declared in code, collected from stand-in services
whose routers use the real `chassis.security.callers`."""

import json
import os
import textwrap
from pathlib import Path

from mosaic_testing import mosaic

ROUTES = """
from chassis.security import callers
from fastapi import APIRouter

router = APIRouter(prefix="/v1")
{routes}
"""


def service(root: Path, name: str, table: str, routes: str = "") -> None:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "pyproject.toml").write_text(f'[project]\nname = "{name}"\n[tool.mosaic]\n{table}')
    (folder / "Procfile").write_text("web: python -c pass\n")
    if routes:
        package = folder / "src" / f"{name}_api"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "routes.py").write_text(ROUTES.format(routes=textwrap.dedent(routes)))


def shop(root: Path) -> Path:
    """front -> store; store -> ledger, but store forgot to say so; front -> ledger, which
    ledger does not allow; one route without any allowlist; one for a stranger."""
    service(root, "front", 'calls = ["store", "ledger"]\nedge = true\n')
    service(
        root,
        "store",
        'calls = []\napi = ["store_api.routes:router"]\n',
        """
        @router.get("/items", dependencies=[callers("front")])
        async def items() -> None: ...

        @router.put("/items/{item_id}", dependencies=[callers("admin")])
        async def put_item(item_id: str) -> None: ...

        @router.get("/vault", dependencies=[callers()])
        async def vault() -> None: ...

        @router.get("/forgotten")
        async def forgotten() -> None: ...
        """,
    )
    service(
        root,
        "ledger",
        'api = ["ledger_api.routes:router"]\n',
        """
        @router.get("/entries", dependencies=[callers("store", "ghost")])
        async def entries() -> None: ...
        """,
    )
    return root


def policy(services: Path, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "MOSAIC_SERVICES_DIR": str(services)}
    result = mosaic("admin", "policy", *args, env=env)
    return result.returncode, result.stdout, result.stderr


def test_policy_json_lists_routes_edges_and_disagreements(tmp_path: Path) -> None:
    code, out, err = policy(shop(tmp_path), "--json")

    assert code == 0, err
    data = json.loads(out)
    assert data["services"] == {
        "ledger": {
            "routes": [{"method": "GET", "path": "/v1/entries", "callers": ["ghost", "store"]}]
        },
        "store": {
            "routes": [
                {"method": "GET", "path": "/v1/forgotten", "callers": []},
                {"method": "GET", "path": "/v1/items", "callers": ["front"]},
                {"method": "PUT", "path": "/v1/items/{item_id}", "callers": ["admin"]},
                {"method": "GET", "path": "/v1/vault", "callers": []},
            ]
        },
    }
    assert data["edges"] == [
        {"from": "admin", "to": "store"},
        {"from": "front", "to": "store"},
        {"from": "ghost", "to": "ledger"},
        {"from": "store", "to": "ledger"},
    ]
    warnings = "\n".join(data["warnings"])
    assert "ledger allows 'ghost', which is no service" in warnings
    assert "ledger allows store (GET /v1/entries), but store does not list ledger" in warnings
    assert "front calls ledger (tool.mosaic.calls), but no route of ledger allows front" in (
        warnings
    )
    assert "store: no allowlist declared, so no caller is allowed: GET /v1/forgotten" in warnings
    assert len(data["warnings"]) == 4


def test_policy_table_for_people(tmp_path: Path) -> None:
    code, out, err = policy(shop(tmp_path))

    assert code == 0, err
    assert "/v1/items/{item_id}" in out
    assert "admin -> store  (operator)" in out
    assert "front -> store" in out
    assert "warning: front calls ledger" in out
    assert policy(tmp_path, "--strict")[0] == 1


def test_a_consistent_graph_has_no_warnings(tmp_path: Path) -> None:
    service(tmp_path, "front", 'calls = ["store"]\nedge = true\n')
    service(
        tmp_path,
        "store",
        'api = ["store_api.routes:router"]\n',
        """
        @router.get("/items", dependencies=[callers("front")])
        async def items() -> None: ...
        """,
    )
    code, out, err = policy(tmp_path, "--json", "--strict")
    assert code == 0, err
    assert json.loads(out)["warnings"] == []
    assert "Every tool.mosaic.calls matches an allowlist" in policy(tmp_path)[1]


def test_a_router_that_cannot_be_loaded_is_named(tmp_path: Path) -> None:
    service(tmp_path, "store", 'api = ["store_api.nope:router"]\n', "pass")
    code, _, err = policy(tmp_path)
    assert code == 1
    assert "cannot load store_api.nope:router (tool.mosaic.api of store)" in err
    assert "Traceback" not in err
