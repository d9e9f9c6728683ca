"""The authorization matrix, generated from every internal API's committed contract and its
routes' allowlists: each route that takes an object id in its path is called, on a real
object and on one that does not exist, by

- the owner: the user who made it (a route that takes the user's token, `security` in the
  contract), or a service the route allows (a service's own record: a charge, a shipment);
- another signed-in user, and an anonymous caller (no user token; a stranger's visitor id
  where visitors have carts and orders);
- a wrong service: a caller with valid credentials that the route's allowlist leaves out.

Only the owner gets in. Everyone else gets 404 or 401/403, and exactly the answer they get
for an object that does not exist, so an id reveals nothing. Real processes (`mosaic up`,
real Postgres and Valkey), over mTLS, a fresh service token per request. A route with an
object id that the matrix cannot make an object for fails the test: add it to OBJECTS."""

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from mosaic.ports import free_port
from mosaic_testing import Guest, Shopper, UpProcess
from mosaic_testing.apis import (
    INTERNAL_APIS,
    allowed_caller,
    caller_session,
    contract,
    refused_caller,
)

pytestmark = pytest.mark.system

PASSWORD = "eleven silver herons on the river"
ADDRESS = {
    "recipient": "Ada Lovelace",
    "line1": "Unter den Linden 1",
    "city": "Berlin",
    "postal_code": "10117",
    "country": "DE",
}
NOT_OBJECT_IDS = {"currency"}  # a path parameter that names a code, not somebody's object
# A valid body for the writes the owner makes (the others' refusals come before the body
# matters only if the body is valid: an invalid one would be a 422 for everyone).
BODIES: dict[tuple[str, str, str], Any] = {
    ("accounts", "PUT", "/v1/users/me/addresses/{address_id}"): {**ADDRESS, "city": "Potsdam"},
    ("cart", "POST", "/v1/carts/{cart_id}/items"): {"product_id": "{product_id}", "quantity": 1},
    ("cart", "PUT", "/v1/carts/{cart_id}/items/{product_id}"): {"quantity": 2},
}


@dataclass(frozen=True)
class Route:
    service: str
    method: str
    path: str
    params: tuple[str, ...]  # its path parameters, the object's id first
    for_users: bool  # the contract asks for the user's token (optional or not)
    visitors: bool  # ... or a visitor id instead (`security` lists `{}`)

    @property
    def label(self) -> str:
        return f"{self.service} {self.method} {self.path}"


def routes_with_object_ids() -> list[Route]:
    found = []
    for service in INTERNAL_APIS:
        for path, operations in contract(service)["paths"].items():
            for method, operation in operations.items():
                params = tuple(
                    p["name"]
                    for p in operation.get("parameters", [])
                    if p["in"] == "path" and p["name"] not in NOT_OBJECT_IDS
                )
                if not params:
                    continue
                security = operation.get("security", [])
                found.append(
                    Route(
                        service,
                        method.upper(),
                        path,
                        params,
                        for_users=bool(security),
                        visitors={} in security,
                    )
                )
    return found


ROUTES = routes_with_object_ids()


@dataclass
class Shop:
    up: UpProcess
    ids: dict[str, str]  # path parameter -> the id of a real object (Ada's, where owned)
    ada: str  # user access tokens
    bob: str
    ports: dict[str, int] = field(default_factory=dict)

    def call(
        self,
        route: Route,
        caller: str,
        ids: dict[str, str],
        headers: dict[str, str],
    ) -> requests.Response:
        path = route.path.format(**ids)
        body = BODIES.get((route.service, route.method, route.path))
        if isinstance(body, dict):
            known = {**self.ids, **ids}
            body = {k: (v.format(**known) if isinstance(v, str) else v) for k, v in body.items()}
        with caller_session(self.up_home, route.service, caller) as session:
            return session.request(
                route.method,
                self.base_url(route.service) + path,
                json=body,
                headers={"idempotency-key": secrets.token_urlsafe(16), **headers},
                timeout=30,
            )

    @property
    def up_home(self) -> Path:
        return Path(self.up.env["MOSAIC_HOME"])

    def base_url(self, service: str) -> str:
        if not self.ports:
            for process in self.up.processes().values():
                if process.get("service") and process.get("port"):
                    self.ports.setdefault(process["service"], process["port"])
        return f"https://127.0.0.1:{self.ports[service]}"


def sign_in(up: UpProcess, email: str) -> str:
    with up.client("accounts", "frontend") as accounts:
        signed_in = accounts.post(
            "/v1/sessions",
            json={"email": email, "password": PASSWORD},
            headers={"x-client-address": "127.0.0.1"},
        )
    assert signed_in.status_code == 201, signed_in.text
    return str(signed_in.json()["access_token"]["token"])


def objects(up: UpProcess, url: str, ada: str) -> dict[str, str]:
    """Real objects for every kind of id: Ada's address, order and cart, a product, the
    charge and the shipment of Ada's order, a guest order's status token."""
    user = {"authorization": f"Bearer {ada}"}
    with Shopper(url) as shopper:
        product = shopper.products()[0]
    with up.client("accounts", "frontend") as accounts:
        saved = accounts.post("/v1/users/me/addresses", json=ADDRESS, headers=user)
        assert saved.status_code == 201, saved.text
    with up.client("cart", "frontend") as cart, up.client("orders", "frontend") as orders:
        for _ in range(2):  # the first cart is ordered; the second stays open
            opened = cart.post("/v1/carts", headers=user)
            assert opened.status_code in (200, 201), opened.text
            added = cart.post(
                f"/v1/carts/{opened.json()['id']}/items",
                json={"product_id": product, "quantity": 1},
                headers=user,
            )
            assert added.status_code == 200, added.text
            if _ == 0:
                placed = orders.post(
                    "/v1/orders",
                    json=Guest.checkout("ada@example.com"),
                    headers={**user, "idempotency-key": secrets.token_urlsafe(16)},
                )
                assert placed.status_code == 201, placed.text
                order = placed.json()["id"]
        guest = Guest(cart, orders)
        guest.fill_cart({product: 1})
        paid = guest.place(Guest.checkout("guest@example.com"))
        assert paid.status_code == 201, paid.text
    reference = f"order:{order}"
    with up.client("payments", "orders") as payments, up.client("shipping", "orders") as shipping:
        charges = payments.get("/v1/charges", params={"reference": reference}).json()
        shipments = shipping.get("/v1/shipments", params={"reference": reference}).json()
    return {
        "address_id": saved.json()["id"],
        "cart_id": opened.json()["id"],
        "product_id": product,
        "order_id": order,
        "token": paid.json()["status_url_token"],
        "charge_id": charges["charges"][0]["id"],
        "shipment_id": shipments["items"][0]["id"],
    }


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    home = tmp_path_factory.mktemp("authorization-matrix") / "home"
    with UpProcess(home, free_port()) as up:
        url = up.wait_ready(timeout=180)
        emails = [f"{name}-{uuid.uuid4().hex[:10]}@example.com" for name in ("ada", "bob")]
        for email in emails:
            with Shopper(url) as shopper:
                shopper.sign_up(email.split("-")[0].title(), email, PASSWORD, mail=up.mail)
        ada, bob = (sign_in(up, email) for email in emails)
        yield Shop(up, objects(up, url, ada), ada, bob)


def missing(ids: dict[str, str], name: str) -> dict[str, str]:
    """The ids with the object's own replaced by one no object has."""
    fake = str(uuid.uuid4()) if _is_uuid(ids[name]) else f"no-such-{secrets.token_hex(6)}"
    return {**ids, name: fake}


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def answer(response: requests.Response) -> tuple[int, str]:
    """What a refusal says: its status and problem type (never the object's data)."""
    try:
        kind = str(response.json().get("type"))
    except ValueError:
        kind = response.text
    return response.status_code, kind


def test_every_route_with_an_object_id_is_in_the_matrix(shop: Shop) -> None:
    unknown = {p for r in ROUTES for p in r.params if p not in shop.ids}
    assert not unknown, f"no object for path parameters {unknown}: add one to `objects`"
    assert len(ROUTES) >= 20, [r.label for r in ROUTES]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.label)
def test_only_the_owner_gets_in_and_nobody_learns_what_exists(shop: Shop, route: Route) -> None:
    ids = {name: shop.ids[name] for name in route.params}
    absent = missing(ids, route.params[0])
    caller = allowed_caller(route.service, route.method, route.path)
    stranger = {"x-visitor-id": secrets.token_urlsafe(24)}
    owner_headers = {"authorization": f"Bearer {shop.ada}"} if route.for_users else {}
    others: dict[str, tuple[str, dict[str, str]]] = {
        "wrong service": (refused_caller(route.service, route.method, route.path), owner_headers)
    }
    if route.for_users:
        others["another user"] = (caller, {"authorization": f"Bearer {shop.bob}"})
        others["anonymous"] = (caller, stranger if route.visitors else {})
    for who, (as_service, headers) in others.items():
        real = shop.call(route, as_service, ids, headers)
        none = shop.call(route, as_service, absent, headers)
        assert real.status_code in (401, 403, 404), f"{who}: {real.status_code} {real.text}"
        assert answer(real) == answer(none), f"{who} can tell the object exists"
        for value in ids.values():
            assert value not in real.text.replace(route.path.format(**ids), ""), who
        if who == "wrong service":
            assert real.status_code == 403, real.text
    # The owner (or the allowed service) gets in: refused neither by the allowlist nor by
    # ownership. (A write without a body in BODIES may still be refused for its body.)
    if route.method == "DELETE":
        return  # the object is used by the other routes; its owner's delete is in unit tests
    own = shop.call(route, caller, ids, owner_headers)
    assert own.status_code not in (401, 403, 404) and own.status_code < 500, own.text
    if route.method == "GET" or (route.service, route.method, route.path) in BODIES:
        assert 200 <= own.status_code < 300, own.text
