"""Behind a mesh the sidecar's identity header is required, and the served contract is a
route like any other: only its allowed callers (the operator) read it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from chassis import ServiceSettings, callers, create_app
from chassis.security import mesh_identity
from chassis.testing import ServiceKeys
from fastapi import APIRouter, FastAPI

router = APIRouter(dependencies=[callers("tester")])


@router.get("/v1/things")
async def things() -> list[str]:
    return ["compass"]


@pytest.fixture
def keys(tmp_path: Path) -> ServiceKeys:
    return ServiceKeys(tmp_path / "keys", ["tester", "admin"])


@pytest.fixture
async def client(settings: ServiceSettings) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(settings, routers=[router])  # TRANSPORT_SECURITY=mesh
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def token_only(keys: ServiceKeys, caller: str = "tester") -> dict[str, str]:
    return {"x-service-token": keys.token(caller, "testsvc")}


async def test_behind_a_mesh_a_token_without_the_mesh_identity_is_401(
    client: httpx.AsyncClient, keys: ServiceKeys
) -> None:
    response = await client.get("/v1/things", headers=token_only(keys))
    assert response.status_code == 401
    assert "x-forwarded-client-cert" in response.json()["detail"]


async def test_behind_a_mesh_the_token_must_be_the_mesh_identity_s(
    client: httpx.AsyncClient, keys: ServiceKeys
) -> None:
    as_admin = {**token_only(keys), "x-forwarded-client-cert": "URI=spiffe://mosaic.local/admin"}
    assert (await client.get("/v1/things", headers=as_admin)).status_code == 401
    proven = keys.headers("tester", "testsvc")
    assert (await client.get("/v1/things", headers=proven)).status_code == 200


async def test_the_last_forwarded_element_is_the_one_that_counts(
    client: httpx.AsyncClient, keys: ServiceKeys
) -> None:
    # A caller's own element first, then what the sidecar appended: the sidecar's counts.
    chain = 'URI=spiffe://mosaic.local/tester,By=spiffe://mosaic.local/testsvc;URI="spiffe://mosaic.local/admin"'
    response = await client.get(
        "/v1/things", headers={**token_only(keys), "x-forwarded-client-cert": chain}
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("header", "identity"),
    [
        ("URI=spiffe://mosaic.local/a", "spiffe://mosaic.local/a"),
        ('Hash=ab;Subject="CN=x,O=y;z";URI="spiffe://mosaic.local/a"', "spiffe://mosaic.local/a"),
        (
            "URI=spiffe://mosaic.local/a,By=spiffe://b;URI=spiffe://mosaic.local/c",
            "spiffe://mosaic.local/c",
        ),
        ("URI=spiffe://mosaic.local/a,Hash=ab", None),  # the nearest element names no URI
        ("", None),
        ("URI=", None),
    ],
)
def test_mesh_identity_reads_envoy_s_format(header: str, identity: str | None) -> None:
    assert mesh_identity(header) == identity


@pytest.mark.parametrize(
    ("path", "status"),
    [("/openapi.json", 401), ("/docs", 404), ("/redoc", 404)],  # the spec is there, guarded
)
async def test_no_spec_or_docs_without_a_service_token(
    client: httpx.AsyncClient, path: str, status: int
) -> None:
    response = await client.get(
        path, headers={"x-forwarded-client-cert": "URI=spiffe://mosaic.local/tester"}
    )
    assert response.status_code in (401, 404)
    assert response.status_code == status
    assert '"paths"' not in response.text


async def test_the_contract_is_the_operator_s_to_read(
    client: httpx.AsyncClient, keys: ServiceKeys
) -> None:
    service = await client.get("/openapi.json", headers=keys.headers("tester", "testsvc"))
    assert service.status_code == 403
    operator = await client.get("/openapi.json", headers=keys.headers("admin", "testsvc"))
    assert operator.status_code == 200
    assert "/v1/things" in operator.json()["paths"]
