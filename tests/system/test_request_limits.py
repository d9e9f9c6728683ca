"""Request limits and mass assignment on every write route of every service, generated from
the committed contracts (services/*/openapi.json) and the allowlists in the code, against
the real shop under `mosaic up` (real processes, mTLS, the allowed caller's token and, where
the route is about a user, a signed-in user's access token):

- a body over MAX_BODY_BYTES (64 KiB) is refused with 413, a body that is not JSON with 415,
  JSON nested too deep with 400: each as problem+json, before the route parses it;
- a body the contract accepts, plus fields it does not name (`price`, `owner`, `status`,
  `total`, `user_id`, `id`), is refused with 422 naming exactly those fields, and nothing
  is written: every table of the service's database holds the rows it held before;
- the server refuses a head over its bounds (431) over mTLS, and the shop's forms a post
  over 16 KiB with its 413 page.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from mosaic.admin.policy import service_routes
from mosaic.ports import free_port
from mosaic.services import discover_services
from mosaic_testing import TEST_CARD, Shopper, UpProcess, process_environment
from mosaic_testing.contracts import Operation, json_body_operations

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = json_body_operations(ROOT)
EXTRAS = ("price", "owner", "status", "total", "user_id", "id")
PASSWORD = "seven amber kites above the quiet bay"
DEFAULT_MAX_BODY = 64 * 1024
# Written by the shop's own background work while the test runs (scheduled jobs' runs),
# not by any request of the test.
BACKGROUND_TABLES = {"job_runs"}
TOKEN_REUSE_SECONDS = 240
# Rules a model checks that its schema does not state (a card's digits): what a valid
# request has there, by operation and top-level field.
NOT_IN_THE_SCHEMA = {
    "orders POST /v1/orders": {"card": {"number": TEST_CARD, "cvc": "123"}},
}


@dataclass
class Shop:
    up: UpProcess
    url: str
    email: str
    _token: tuple[float, str] = (0.0, "")

    @property
    def user_token(self) -> str:
        """The user's access token, signed in again before it expires (about 10 minutes;
        the module may take longer on a busy machine)."""
        signed_at, token = self._token
        if time.monotonic() - signed_at > TOKEN_REUSE_SECONDS:
            with self.up.client("accounts", "frontend") as accounts:
                signed_in = accounts.post(
                    "/v1/sessions",
                    json={"email": self.email, "password": PASSWORD},
                    headers={"x-client-address": "127.0.0.1"},
                )
            assert signed_in.status_code == 201, signed_in.text
            token = str(signed_in.json()["access_token"]["token"])
            self._token = (time.monotonic(), token)
        return token

    def caller_of(self, op: Operation) -> str:
        """A service the route's allowlist names (the frontend where it may call)."""
        allowed = ALLOWED[(op.service, op.method.upper(), op.path)]
        assert allowed, f"{op.name} allows no caller"
        return "frontend" if "frontend" in allowed else sorted(allowed)[0]

    def call(self, op: Operation, **request: object) -> httpx.Response:
        headers = {str(k): str(v) for k, v in op.parameters("header").items()}
        if op.needs_user:
            headers["authorization"] = f"Bearer {self.user_token}"
        headers.update(request.pop("headers", {}))  # type: ignore[arg-type]
        with self.up.client(op.service, self.caller_of(op)) as client:
            return client.request(op.method, op.url(), headers=headers, **request)  # type: ignore[arg-type]


ALLOWED = {
    (service.name, route.method, route.path): set(route.callers)
    for service in discover_services(ROOT / "services")
    if service.api
    for route in service_routes(service)
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    home = tmp_path_factory.mktemp("request-limits") / "home"
    with UpProcess(home, free_port()) as up:
        url = up.wait_ready(timeout=180)
        email = f"ada-{uuid.uuid4().hex[:10]}@example.com"
        with Shopper(url) as shopper:
            shopper.sign_up("Ada Lovelace", email, PASSWORD, mail=up.mail)
        yield Shop(up, url, email)


def problem_of(response: httpx.Response, status: int, kind: str) -> dict[str, object]:
    assert response.status_code == status, f"{response.status_code}: {response.text[:300]}"
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert str(body["type"]).endswith(f"/{kind}"), body
    return body


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_every_json_route_refuses_what_breaks_a_limit(shop: Shop, op: Operation) -> None:
    too_large = b'{"a": "' + b"x" * DEFAULT_MAX_BODY + b'"}'
    json_type = {"content-type": "application/json"}
    problem_of(shop.call(op, content=too_large, headers=json_type), 413, "body-too-large")
    not_json = {"content-type": "text/plain"}
    problem_of(shop.call(op, content=b"price=1", headers=not_json), 415, "unsupported-media-type")
    deep = b'{"a": ' + b"[" * 100 + b"]" * 100 + b"}"
    problem_of(shop.call(op, content=deep, headers=json_type), 400, "json-too-deep")


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_every_write_route_refuses_fields_it_does_not_name(shop: Shop, op: Operation) -> None:
    schema = op.body_schema
    assert schema is not None
    body = op.example(schema)
    for field, values in NOT_IN_THE_SCHEMA.get(op.name, {}).items():
        body[field] = {**body[field], **values}
    extras = [name for name in EXTRAS if name not in schema.get("properties", {})]
    assert extras, f"{op.name} names every field tried"
    sent = {**body, **dict.fromkeys(extras, "1")}
    before = rows(shop, op.service)

    response = shop.call(op, json=sent)

    problem = problem_of(response, 422, "invalid-request")
    refused = {(e["location"], e["message"]) for e in problem["errors"]}  # type: ignore[attr-defined]
    assert refused == {(f"body.{name}", "Extra inputs are not permitted") for name in extras}
    assert rows(shop, op.service) == before, "a refused request wrote"


def rows(shop: Shop, service: str) -> dict[str, int]:
    """Rows per table in the service's database (empty for a service without one)."""
    web = shop.up.processes()[f"{service}.web.1"]
    url = process_environment(web["pid"]).get("DATABASE_URL")
    return asyncio.run(_count_rows(url)) if url else {}


async def _count_rows(url: str) -> dict[str, int]:
    connection = await asyncpg.connect(url)
    try:
        tables = await connection.fetch(
            "SELECT tablename, quote_ident(tablename) AS quoted FROM pg_tables "
            "WHERE schemaname = 'public' ORDER BY tablename"
        )
        counted: dict[str, int] = {}
        for table in tables:
            if table["tablename"] not in BACKGROUND_TABLES:
                # The name comes from pg_tables, quoted by Postgres itself.
                query = f"SELECT count(*) FROM {table['quoted']}"  # noqa: S608
                counted[table["tablename"]] = await connection.fetchval(query)
        return counted
    finally:
        await connection.close()


def test_the_server_refuses_a_head_over_its_bounds_over_mtls(shop: Shop) -> None:
    with shop.up.client("catalog", "frontend") as catalog:
        response = catalog.get("/v1/products", headers={"x-padding": "a" * 20_000})
    problem_of(response, 431, "headers-too-large")
    with shop.up.client("catalog", "frontend") as catalog:
        assert catalog.get("/v1/products").status_code == 200  # and it goes on serving


def test_the_shop_refuses_a_form_over_its_limit_with_a_page(shop: Shop) -> None:
    with Shopper(shop.url) as shopper:
        product = "/product/" + shopper.products()[0]
        response = shopper.submit(product, "/cart/items", note="y" * 17_000)
        assert response.status_code == 413
        assert response.headers["content-type"].startswith("text/html")
        assert "That form submission is too large." in response.text
        assert shopper.open("/cart").cart_count == 0  # nothing reached the cart
