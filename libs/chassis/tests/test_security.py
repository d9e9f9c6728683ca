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
from chassis.settings import EX_CONFIG, load_settings
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


ISTIO = "spiffe://cluster.local/ns/mosaic/sa/{service}"


@pytest.fixture
async def behind_istio(
    settings_env: None, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("MESH_IDENTITY", ISTIO)
    app: FastAPI = create_app(ServiceSettings(), routers=[router])
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def as_istio_writes_it(*uris: str) -> str:
    """The header as Istio's sidecar hands it on: each element `By` (the callee), `Hash`,
    `Subject` (empty for its certificates) and `URI` (the caller's service account)."""
    by = ISTIO.format(service="testsvc")
    return ",".join(f'By={by};Hash=0f1e;Subject="";URI={uri}' for uri in uris)


async def test_behind_istio_the_service_account_s_identity_proves_the_issuer(
    behind_istio: httpx.AsyncClient, keys: ServiceKeys
) -> None:
    header = as_istio_writes_it("spiffe://cluster.local/ns/mosaic/sa/tester")
    proven = {**token_only(keys), "x-forwarded-client-cert": header}
    assert (await behind_istio.get("/v1/things", headers=proven)).status_code == 200
    # Our own PKI's form no longer counts: the mesh names service accounts.
    ours = {**token_only(keys), "x-forwarded-client-cert": "URI=spiffe://mosaic.local/tester"}
    assert (await behind_istio.get("/v1/things", headers=ours)).status_code == 401


async def test_behind_istio_another_service_account_is_refused(
    behind_istio: httpx.AsyncClient, keys: ServiceKeys
) -> None:
    header = as_istio_writes_it("spiffe://cluster.local/ns/mosaic/sa/admin")
    response = await behind_istio.get(
        "/v1/things", headers={**token_only(keys), "x-forwarded-client-cert": header}
    )
    assert response.status_code == 401
    assert "does not match the mesh identity" in response.json()["detail"]
    other_namespace = as_istio_writes_it("spiffe://cluster.local/ns/shop/sa/tester")
    response = await behind_istio.get(
        "/v1/things", headers={**token_only(keys), "x-forwarded-client-cert": other_namespace}
    )
    assert response.status_code == 401


async def test_behind_istio_a_forged_earlier_element_is_ignored(
    behind_istio: httpx.AsyncClient, keys: ServiceKeys
) -> None:
    """A caller may send its own header; the sidecar appends the identity it verified."""
    forged = as_istio_writes_it(
        "spiffe://cluster.local/ns/mosaic/sa/tester", "spiffe://cluster.local/ns/mosaic/sa/admin"
    )
    response = await behind_istio.get(
        "/v1/things", headers={**token_only(keys), "x-forwarded-client-cert": forged}
    )
    assert response.status_code == 401
    honest = as_istio_writes_it(
        "spiffe://cluster.local/ns/mosaic/sa/admin", "spiffe://cluster.local/ns/mosaic/sa/tester"
    )
    response = await behind_istio.get(
        "/v1/things", headers={**token_only(keys), "x-forwarded-client-cert": honest}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "template",
    [
        "spiffe://cluster.local/ns/mosaic/sa/{svc}",  # not the placeholder we fill
        "spiffe://cluster.local/ns/mosaic/sa/catalog",  # no placeholder: one identity for all
        "spiffe://cluster.local/ns/{service}/sa/{service}",
        "spiffe://cluster.local/ns/mosaic/sa/{service",
        "cluster.local/ns/mosaic/sa/{service}",  # Istio's principal, not the header's URI
    ],
)
def test_a_bad_mesh_identity_template_is_one_line_of_configuration_error(
    settings_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    template: str,
) -> None:
    monkeypatch.setenv("MESH_IDENTITY", template)
    with pytest.raises(SystemExit) as stopped:
        load_settings(ServiceSettings)
    assert stopped.value.code == EX_CONFIG
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("configuration error: MESH_IDENTITY is invalid")
    assert "spiffe://cluster.local/ns/mosaic/sa/{service}" in err  # says what would do
