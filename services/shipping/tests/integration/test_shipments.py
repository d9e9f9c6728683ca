"""Shipments: created once per Idempotency-Key (also under a storm of concurrent retries),
read by id and by reference, cancelled idempotently."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from chassis import Database
from chassis.testing import ServiceKeys, assert_problem
from shipping import handlers
from shipping.schemas import ShipmentRequest
from shipping.store import Store
from shipping.zones import load_zones

from .conftest import create, new_key, shipment_body


async def test_a_shipment_is_created_with_a_random_tracking_id(
    client: httpx.AsyncClient,
) -> None:
    body = shipment_body(option="express")
    body["address"] |= {"line2": "  ", "postal_code": " 10115 ", "country": "de"}
    response = await create(client, body)
    assert response.status_code == 201, response.text
    shipment = response.json()
    assert "idempotent-replayed" not in response.headers
    assert response.headers["location"] == f"/v1/shipments/{shipment['id']}"
    assert re.fullmatch(r"MOS[A-Z2-7]{12}", shipment["tracking_id"])
    assert shipment["status"] == "created"
    assert shipment["reference"] == body["reference"]
    assert shipment["option"] == "express"
    assert shipment["price"] == {"amount": 3499 + 2 * 500, "currency": "USD"}
    assert shipment["days"] == {"min": 2, "max": 4}
    assert shipment["address"] == {
        "name": "Ada Lovelace",
        "line1": "Invalidenstraße 117",
        "line2": None,
        "city": "Berlin",
        "postal_code": "10115",
        "country": "DE",
    }
    assert shipment["items"] == body["items"]
    assert shipment["created_at"].endswith("Z")
    assert shipment["cancelled_at"] is None

    again = await client.get(f"/v1/shipments/{shipment['id']}")
    assert again.json() == shipment


async def test_tracking_ids_differ_and_say_nothing_of_each_other(
    client: httpx.AsyncClient,
) -> None:
    ids = [(await create(client)).json()["tracking_id"] for _ in range(20)]
    assert len(set(ids)) == 20
    assert len({tracking[3:6] for tracking in ids}) > 1  # no shared counter or date prefix


async def test_the_same_key_and_body_replay_the_first_response_byte_for_byte(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    key, body = new_key(), shipment_body()
    first = await create(client, body, key)
    # The same request with its keys in another order is the same request.
    reordered = {name: body[name] for name in reversed(list(body))}
    again = await create(client, reordered, key)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert await db.fetchval("SELECT count(*) FROM shipments") == 1


async def test_the_same_key_with_another_body_is_422(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    key, body = new_key(), shipment_body()
    await create(client, body, key)
    other = {**body, "option": "express"}
    assert_problem(await create(client, other, key), 422, "idempotency-key-reused")
    assert await db.fetchval("SELECT count(*) FROM shipments") == 1


async def test_fifty_concurrent_creations_with_one_key_make_one_shipment(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    key, body = new_key(), shipment_body()
    responses = await asyncio.gather(*(create(client, body, key) for _ in range(50)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert sum("idempotent-replayed" not in r.headers for r in responses) == 1
    assert await db.fetchval("SELECT count(*) FROM shipments") == 1
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys") == 1


async def test_concurrent_creations_with_different_keys_make_one_shipment_each(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    body = shipment_body()
    responses = await asyncio.gather(*(create(client, body) for _ in range(10)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 10
    assert await db.fetchval("SELECT count(*) FROM shipments") == 10


async def test_a_replay_after_a_cancel_is_still_the_first_response(
    client: httpx.AsyncClient,
) -> None:
    key, body = new_key(), shipment_body()
    first = await create(client, body, key)
    await client.post(f"/v1/shipments/{first.json()['id']}/cancel")
    again = await create(client, body, key)
    assert again.content == first.content
    assert again.json()["status"] == "created"
    current = await client.get(f"/v1/shipments/{first.json()['id']}")
    assert current.json()["status"] == "cancelled"  # the replay revived nothing


async def test_cancelling_twice_answers_the_same_and_it_stays_cancelled(
    client: httpx.AsyncClient,
) -> None:
    shipment = (await create(client)).json()
    first = await client.post(f"/v1/shipments/{shipment['id']}/cancel")
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "cancelled"
    assert first.json()["cancelled_at"] is not None
    assert {**first.json(), "status": "created", "cancelled_at": None} == shipment
    again = await client.post(f"/v1/shipments/{shipment['id']}/cancel")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert (await client.get(f"/v1/shipments/{shipment['id']}")).json() == first.json()


async def test_concurrent_cancels_agree(client: httpx.AsyncClient) -> None:
    shipment = (await create(client)).json()
    path = f"/v1/shipments/{shipment['id']}/cancel"
    responses = await asyncio.gather(*(client.post(path) for _ in range(10)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1


async def test_shipments_by_reference_oldest_first(client: httpx.AsyncClient) -> None:
    body = shipment_body()
    first = (await create(client, body)).json()
    await client.post(f"/v1/shipments/{first['id']}/cancel")
    second = (await create(client, body)).json()
    await create(client)  # another order's
    response = await client.get("/v1/shipments", params={"reference": body["reference"]})
    assert response.status_code == 200, response.text
    found = response.json()["items"]
    assert [s["id"] for s in found] == [first["id"], second["id"]]
    assert [s["status"] for s in found] == ["cancelled", "created"]
    none = await client.get("/v1/shipments", params={"reference": f"order:{uuid.uuid4()}"})
    assert none.json() == {"items": []}


@pytest.mark.parametrize("method", ["GET", "CANCEL"])
async def test_an_unknown_shipment_is_404(client: httpx.AsyncClient, method: str) -> None:
    path = f"/v1/shipments/{uuid.uuid4()}"
    response = await (client.get(path) if method == "GET" else client.post(f"{path}/cancel"))
    assert_problem(response, 404, "shipment-not-found")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/shipments/not-a-uuid",
        "/v1/shipments?reference=",
        "/v1/shipments?reference=no-colon",
        "/v1/shipments",
    ],
)
async def test_a_malformed_id_or_reference_is_422(client: httpx.AsyncClient, path: str) -> None:
    assert_problem(await client.get(path), 422, "invalid-request")
    if "not-a-uuid" in path:
        assert_problem(await client.post(f"{path}/cancel"), 422, "invalid-request")


async def test_a_missing_idempotency_key_is_400(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    response = await client.post("/v1/shipments", json=shipment_body())
    assert_problem(response, 400, "idempotency-key-missing")
    assert await db.fetchval("SELECT count(*) FROM shipments") == 0


@pytest.mark.parametrize("key", ["", "has space", "semi;colon", "ü".encode(), "k" * 256, "a/b"])
async def test_a_malformed_idempotency_key_is_400(
    client: httpx.AsyncClient, key: str | bytes
) -> None:
    response = await client.post(
        "/v1/shipments", json=shipment_body(), headers={"Idempotency-Key": key}
    )
    assert_problem(response, 400, "idempotency-key-invalid")


@pytest.mark.parametrize(
    ("address", "field"),
    [
        ({"country": "AQ"}, "address.country"),
        ({"country": "XX"}, "address.country"),
        ({"postal_code": "1234"}, "address.postal_code"),
        ({"postal_code": None}, "address.postal_code"),
        ({"country": "FR", "postal_code": "SW1A 1AA"}, "address.postal_code"),
    ],
)
async def test_an_address_not_served_is_422_with_the_field(
    client: httpx.AsyncClient, db: asyncpg.Connection, address: dict[str, Any], field: str
) -> None:
    body = shipment_body()
    body["address"] |= address
    problem = assert_problem(await create(client, body), 422, "destination-not-served")
    assert problem["field"] == field
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys") == 0


@pytest.mark.parametrize("option", ["overnight", "STANDARD", "Express "])
async def test_an_unknown_option_is_422(client: httpx.AsyncClient, option: str) -> None:
    problem = assert_problem(
        await create(client, shipment_body(option=option)), 422, "unknown-shipping-option"
    )
    assert problem["field"] == "option"


@pytest.mark.parametrize(
    ("changes", "location"),
    [
        ({"items": []}, "body.items"),
        ({"items": [{"product_id": "a", "quantity": 0}]}, "body.items.0.quantity"),
        ({"items": [{"product_id": "a", "quantity": 11}]}, "body.items.0.quantity"),
        ({"reference": "order 1"}, "body.reference"),
        ({"reference": ""}, "body.reference"),
        ({"option": ""}, "body.option"),
        ({"address": {"name": "A", "city": "B", "country": "DE"}}, "body.address.line1"),
        ({"address": {"name": " ", "line1": "x", "city": "B", "country": "DE"}}, "body.address"),
        (
            {"address": {"name": "A\x00", "line1": "x", "city": "B", "country": "DE"}},
            "body.address.name",
        ),
        ({"address": {"name": "A" * 201, "line1": "x", "city": "B", "country": "DE"}}, "body"),
    ],
)
async def test_a_bad_body_is_422(
    client: httpx.AsyncClient, changes: dict[str, Any], location: str
) -> None:
    response = await create(client, shipment_body(**changes))
    problem = assert_problem(response, 422, "invalid-request")
    assert any(error["location"].startswith(location) for error in problem["errors"]), problem


@pytest.mark.parametrize("content", [b"{", b"", b"[1, 2]", b'{"reference": "order:1",}'])
async def test_malformed_json_is_422(client: httpx.AsyncClient, content: bytes) -> None:
    response = await client.post(
        "/v1/shipments",
        content=content,
        headers={"content-type": "application/json", "Idempotency-Key": new_key()},
    )
    assert_problem(response, 422, "invalid-request")


async def test_only_orders_may_create(client: httpx.AsyncClient, keys: ServiceKeys) -> None:
    response = await client.post(
        "/v1/shipments",
        json=shipment_body(),
        headers={"Idempotency-Key": new_key(), **keys.headers("frontend", "shipping")},
    )
    assert_problem(response, 403, "caller-not-allowed")


async def test_keys_are_scoped_per_caller(database_url: str) -> None:
    """One service's key never answers another's: the claim is (caller, key)."""
    database = Database(database_url)
    await database.open()
    try:
        store, zones = Store(database), load_zones()
        request = ShipmentRequest.model_validate(shipment_body())
        key = new_key()
        ours = await handlers.create_shipment(store, zones, "orders", key, request)
        theirs = await handlers.create_shipment(store, zones, "returns", key, request)
        again = await handlers.create_shipment(store, zones, "returns", key, request)
    finally:
        await database.close()
    assert not ours.replayed and not theirs.replayed and again.replayed
    assert ours.shipment_id != theirs.shipment_id == again.shipment_id
