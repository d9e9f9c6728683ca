"""Zero trust under `mosaic up`, as an operator meets it: the policy shown is the policy in
the code, a service answers the operator's `mosaic admin call` (mTLS + service token) while
a plain HTTP request to its port gets nothing, and the shop works as before."""

import importlib
import json
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest
from chassis.security import route_policies
from mosaic.home import services_dir
from mosaic.pki import TOKEN_HEADER, Pki, load_signing_key, sign_token
from mosaic.ports import free_port
from mosaic_testing import UpProcess, mosaic

# Normal mode only: it is about the network between processes (a plain HTTP request to a
# service's TLS port gets nothing); in-process calls between services never cross it.
pytestmark = pytest.mark.system


def policies_in_code() -> dict[str, list[dict[str, Any]]]:
    """route_policies of every router the services name in [tool.mosaic] api."""
    found = {}
    for pyproject in sorted(services_dir().glob("*/pyproject.toml")):
        table = tomllib.loads(pyproject.read_text()).get("tool", {}).get("mosaic", {})
        routes: list[dict[str, Any]] = []
        for reference in table.get("api", []):
            module, _, name = reference.partition(":")
            routes += route_policies(getattr(importlib.import_module(module), name))
        if routes:
            found[pyproject.parent.name] = sorted(
                ({k: r[k] for k in ("method", "path", "callers")} for r in routes),
                key=lambda r: (r["path"], r["method"]),
            )
    return found


def test_the_policy_shown_is_the_code_and_only_mtls_reaches_a_service(tmp_path: Path) -> None:
    with UpProcess(tmp_path / "home", free_port()) as up:
        shop = up.wait_ready(timeout=90)
        catalog_port = up.processes()["catalog.web.1"]["port"]

        shown = mosaic("admin", "policy", "--json", env=up.env)
        called = mosaic("admin", "call", "catalog", "/v1/products?page_size=2", env=up.env)
        with pytest.raises(httpx.HTTPError):  # no certificate: refused at the handshake
            httpx.get(f"http://127.0.0.1:{catalog_port}/v1/products", timeout=5)
        front_page = httpx.get(shop + "/", timeout=10)

    assert shown.returncode == 0, shown.stderr
    policy = json.loads(shown.stdout)
    in_code = policies_in_code()
    assert "catalog" in in_code
    assert {name: s["routes"] for name, s in policy["services"].items()} == in_code
    edges = {(e["from"], e["to"]) for e in policy["edges"]}
    assert edges == {
        (caller, callee)
        for callee, routes in in_code.items()
        for route in routes
        for caller in route["callers"]
    }
    assert ("frontend", "catalog") in edges
    assert policy["warnings"] == []

    assert called.returncode == 0, called.stderr
    # By default the first service the route's allowlist names (sorted) is the caller.
    readers = next(r["callers"] for r in in_code["catalog"] if r["path"] == "/v1/products")
    assert f"calling as {sorted(readers)[0]}," in called.stderr
    assert "200 OK" in called.stderr
    assert len(json.loads(called.stdout)["items"]) == 2

    assert front_page.status_code == 200  # the shop itself, over mTLS inside


def test_behind_a_mesh_services_speak_http_and_still_require_tokens(tmp_path: Path) -> None:
    with UpProcess(tmp_path / "home", free_port(), "--transport", "mesh") as up:
        shop = up.wait_ready(timeout=90)
        catalog_port = up.processes()["catalog.web.1"]["port"]

        products = f"http://127.0.0.1:{catalog_port}/v1/products"
        no_token = httpx.get(products, timeout=5)
        # A valid token, but not through the mesh: no sidecar said whose certificate it was.
        frontend_key = load_signing_key(Pki.of(tmp_path / "home").service("frontend").signing_key)
        token = {TOKEN_HEADER: sign_token(frontend_key, issuer="frontend", audience="catalog")}
        around_the_mesh = httpx.get(products, headers=token, timeout=5)
        called = mosaic("admin", "call", "catalog", "/v1/categories", env=up.env)
        front_page = httpx.get(shop + "/", timeout=10)

    assert no_token.status_code == 401
    assert no_token.headers["content-type"].startswith("application/problem+json")
    assert around_the_mesh.status_code == 401
    assert "x-forwarded-client-cert" in around_the_mesh.json()["detail"]
    assert called.returncode == 0, called.stderr
    assert "GET http://127.0.0.1:" in called.stderr
    assert json.loads(called.stdout)["items"]
    assert front_page.status_code == 200
