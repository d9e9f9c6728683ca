"""TRANSPORT_SECURITY=cloudrun: the callee binds our service token's issuer to the service
account of the Google ID token Cloud Run let through; the caller fetches that token from the
metadata server (here a real HTTP server of the test's own) and caches it."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import httpx
import orjson
import pytest
from aiohttp import web
from asgi_lifespan import LifespanManager
from chassis import ServiceSettings, callers, create_app
from chassis.client import ServiceClient
from chassis.cloudrun import (
    IDENTITY_PATH,
    REFRESH_MARGIN,
    IdTokens,
    IdTokenUnavailable,
    caller_email,
)
from chassis.security import Credentials
from chassis.testing import ServiceKeys
from fastapi import APIRouter, FastAPI
from pydantic import ValidationError

PROJECT = "mosaic-test-1"
router = APIRouter(dependencies=[callers("tester")])


@router.get("/v1/things")
async def things() -> list[str]:
    return ["compass"]


def id_token(email: str | None, expires: float | None = None, signed: bool = False) -> str:
    """A Google ID token as the container sees it: Cloud Run replaced the signature (a public
    post of 2022 shows `bearer <header>.<payload>.SIGNATURE_REMOVED_BY_GOOGLE`)."""
    claims: dict[str, object] = {
        "aud": "https://testsvc.run.app",
        "iss": "https://accounts.google.com",
    }
    if email is not None:
        claims["email"] = email
    claims["exp"] = int(expires if expires is not None else time.time() + 3600)
    parts = [orjson.dumps({"alg": "RS256", "typ": "JWT"}), orjson.dumps(claims)]
    encoded = [base64.urlsafe_b64encode(p).rstrip(b"=").decode() for p in parts]
    return ".".join([*encoded, "c2lnbmF0dXJl" if signed else "SIGNATURE_REMOVED_BY_GOOGLE"])


@pytest.fixture
def keys(tmp_path: Path) -> ServiceKeys:
    return ServiceKeys(tmp_path / "keys", ["tester", "admin"])


@pytest.fixture
async def client(
    settings_env: None, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("TRANSPORT_SECURITY", "cloudrun")
    monkeypatch.setenv("CLOUD_RUN_PROJECT", PROJECT)
    app: FastAPI = create_app(ServiceSettings(), routers=[router])
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def proof(keys: ServiceKeys, issuer: str, email: str | None) -> dict[str, str]:
    headers = {"x-service-token": keys.token(issuer, "testsvc")}
    if email is not None:
        headers["X-Serverless-Authorization"] = f"Bearer {id_token(email)}"
    return headers


async def test_a_token_whose_issuer_is_the_google_caller_is_accepted(
    client: httpx.AsyncClient, keys: ServiceKeys
) -> None:
    email = f"mosaic-tester@{PROJECT}.iam.gserviceaccount.com"
    response = await client.get("/v1/things", headers=proof(keys, "tester", email))
    assert response.status_code == 200, response.text


async def test_a_google_caller_of_another_service_account_is_refused(
    client: httpx.AsyncClient, keys: ServiceKeys
) -> None:
    for email in (
        f"mosaic-admin@{PROJECT}.iam.gserviceaccount.com",  # another service's account
        "mosaic-tester@other-project.iam.gserviceaccount.com",  # ours by name, another project
        f"tester@{PROJECT}.iam.gserviceaccount.com",  # not the shop's account
        "mosaic-tester@example.com",
    ):
        response = await client.get("/v1/things", headers=proof(keys, "tester", email))
        assert response.status_code == 401, email
        assert "does not match the caller" in response.json()["detail"]


def test_settings_for_cloud_run_need_the_project(
    settings_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRANSPORT_SECURITY", "cloudrun")
    with pytest.raises(ValidationError, match="CLOUD_RUN_PROJECT must be set"):
        ServiceSettings()
    monkeypatch.setenv("CLOUD_RUN_PROJECT", "Not A Project")
    with pytest.raises(ValidationError, match="CLOUD_RUN_PROJECT"):
        ServiceSettings()


async def test_without_a_google_id_token_a_valid_service_token_is_refused(
    client: httpx.AsyncClient, keys: ServiceKeys
) -> None:
    response = await client.get("/v1/things", headers=proof(keys, "tester", None))
    assert response.status_code == 401
    assert "no Google ID token" in response.json()["detail"]
    # An ID token without the email claim (fetched without format=full) proves no caller.
    no_email = f"Bearer {id_token(None)}"
    headers = {**proof(keys, "tester", None), "X-Serverless-Authorization": no_email}
    assert (await client.get("/v1/things", headers=headers)).status_code == 401
    # Nor does one in Authorization: that header is the shoppers' (IAM reads the other first).
    email = f"mosaic-tester@{PROJECT}.iam.gserviceaccount.com"
    headers = {**proof(keys, "tester", None), "Authorization": f"Bearer {id_token(email)}"}
    assert (await client.get("/v1/things", headers=headers)).status_code == 401


async def test_a_service_token_from_another_issuer_is_refused(
    client: httpx.AsyncClient, keys: ServiceKeys
) -> None:
    # Google proved `tester` called; the service token says `admin`: one of them lies.
    email = f"mosaic-tester@{PROJECT}.iam.gserviceaccount.com"
    response = await client.get("/v1/things", headers=proof(keys, "admin", email))
    assert response.status_code == 401
    assert "'admin' does not match" in response.json()["detail"]


@pytest.mark.parametrize(
    ("header", "email"),
    [
        (f"Bearer {id_token('a@p.iam.gserviceaccount.com')}", "a@p.iam.gserviceaccount.com"),
        (
            f"bearer {id_token('a@p.iam.gserviceaccount.com', signed=True)}",
            "a@p.iam.gserviceaccount.com",
        ),
        ("Basic dXNlcjpwYXNz", None),
        ("Bearer not-a-jwt", None),
        ("Bearer a.!!!.b", None),
        ("", None),
    ],
    # Ids of their own: a token holds its expiry, and pytest-xdist's workers must collect
    # the same ids.
    ids=["signature-removed", "signed-lowercase", "basic", "not-a-jwt", "bad-base64", "empty"],
)
def test_caller_email_reads_the_token_cloud_run_passes_on(header: str, email: str | None) -> None:
    assert caller_email(header) == email


class MetadataServer:
    """The metadata server's identity endpoint as Cloud Run serves it, on a real port; it
    also answers /echo with the headers it received (a callee's view)."""

    def __init__(self, lifetime: float = 3600) -> None:
        self.lifetime = lifetime
        self.requests: list[tuple[str, str]] = []  # (audience, format)

    async def identity(self, request: web.Request) -> web.Response:
        if request.headers.get("Metadata-Flavor") != "Google":
            return web.Response(status=403, text="Missing Metadata-Flavor:Google header.")
        audience = request.query.get("audience", "")
        self.requests.append((audience, request.query.get("format", "")))
        email = f"mosaic-tester@{PROJECT}.iam.gserviceaccount.com"
        return web.Response(text=id_token(email, time.time() + self.lifetime, signed=True))

    async def echo(self, request: web.Request) -> web.Response:
        return web.json_response({k.lower(): v for k, v in request.headers.items()})


@pytest.fixture
async def metadata() -> AsyncIterator[tuple[MetadataServer, str]]:
    server = MetadataServer()
    app = web.Application()
    app.router.add_get(IDENTITY_PATH, server.identity)
    app.router.add_get("/echo", server.echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_id_tokens_come_from_the_metadata_server_once_per_audience(
    metadata: tuple[MetadataServer, str],
) -> None:
    server, url = metadata
    tokens = IdTokens(url)
    async with aiohttp.ClientSession() as session:
        first = await tokens.token_for("https://catalog-1.europe-west1.run.app", session)
        again = await tokens.token_for("https://catalog-1.europe-west1.run.app", session)
        other = await tokens.token_for("https://cart-1.europe-west1.run.app", session)
    assert first == again
    assert caller_email(f"Bearer {other}") == f"mosaic-tester@{PROJECT}.iam.gserviceaccount.com"
    assert server.requests == [
        ("https://catalog-1.europe-west1.run.app", "full"),  # full: or no email claim
        ("https://cart-1.europe-west1.run.app", "full"),
    ]


async def test_a_token_near_its_expiry_is_fetched_again(
    metadata: tuple[MetadataServer, str],
) -> None:
    server, url = metadata
    server.lifetime = REFRESH_MARGIN - 1  # already inside the margin when it arrives
    tokens = IdTokens(url)
    async with aiohttp.ClientSession() as session:
        await tokens.token_for("https://a.run.app", session)
        await tokens.token_for("https://a.run.app", session)
    assert len(server.requests) == 2


async def test_no_metadata_server_is_a_clear_error(metadata: tuple[MetadataServer, str]) -> None:
    _, url = metadata
    async with aiohttp.ClientSession() as session:
        with pytest.raises(IdTokenUnavailable, match="answered 404"):
            await IdTokens(url + "/nowhere").token_for("https://a.run.app", session)
        with pytest.raises(IdTokenUnavailable, match="unreachable"):
            await IdTokens("http://127.0.0.1:9").token_for("https://a.run.app", session)


async def test_a_service_client_sends_the_id_token_for_the_callee_s_url(
    metadata: tuple[MetadataServer, str], keys: ServiceKeys
) -> None:
    server, url = metadata
    credentials = Credentials(
        "tester",
        transport="cloudrun",
        tls_files=None,
        signing_key=keys.key_file("tester"),
        trust_dir=None,
        project=PROJECT,
        metadata_url=url,
    )
    callee = ServiceClient("catalog", url, credentials=credentials)  # the callee's URL
    await callee.open()
    try:
        # A shopper's access token rides in Authorization, as the frontend sends it to cart.
        shopper = {"Authorization": "Bearer shopper-access-token"}
        answer = (await callee.request("GET", "/echo", headers=shopper)).json()
    finally:
        await callee.close()
    email = caller_email(answer["x-serverless-authorization"])
    assert email == f"mosaic-tester@{PROJECT}.iam.gserviceaccount.com"
    assert answer["authorization"] == "Bearer shopper-access-token"  # untouched
    assert answer["x-service-token"]
    assert server.requests == [(url, "full")]  # the audience is the callee's URL
