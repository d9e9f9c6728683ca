"""The shopper's name as given and family names (expand/contract, docs/operations.md
"Changing a schema safely", release 3: contract): requests carry the two parts only, the
display name left them; answers and events still carry it, derived and deprecated."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

from .conftest import PASSWORD, fresh_client_address, fresh_email, outbox


async def _register(client: httpx.AsyncClient, **name: str) -> httpx.Response:
    email = fresh_email()
    return await client.post(
        "/v1/users",
        json={"email": email, "password": PASSWORD, **name},
        headers={"x-client-address": fresh_client_address()},
    )


async def _names(db: asyncpg.Connection) -> list[tuple[Any, ...]]:
    rows = await db.fetch("SELECT given_name, family_name FROM users ORDER BY created_at")
    return [tuple(row) for row in rows]


async def test_a_display_name_is_no_longer_taken(
    client: httpx.AsyncClient, db: asyncpg.Connection, shopper: Any
) -> None:
    """Deprecated in release 2, gone from the requests in release 3: an unknown field."""
    for name in ({"display_name": "Ada Lovelace"}, {"given_name": "Ada", "display_name": "Ada"}):
        assert (await _register(client, **name)).status_code == 422, name
    assert await _names(db) == []
    ada = await shopper()
    renamed = await ada.call("PATCH", "/v1/users/me", json={"display_name": "Augusta"})
    assert renamed.status_code == 422
    assert (await ada.call("GET", "/v1/users/me")).json()["given_name"] == "Ada"


async def test_given_and_family_names_are_written_with_their_event(
    client: httpx.AsyncClient, db: asyncpg.Connection, urls: Any
) -> None:
    response = await _register(client, given_name="Ada", family_name="Lovelace")
    assert response.status_code == 202, response.text
    assert await _names(db) == [("Ada", "Lovelace")]
    (registered,) = await outbox(urls, "AccountRegistered")
    data = registered["data"]
    assert (data["display_name"], data["given_name"], data["family_name"]) == (
        "Ada Lovelace",
        "Ada",
        "Lovelace",
    )


async def test_a_family_name_needs_a_given_name(client: httpx.AsyncClient) -> None:
    for name in (
        {"family_name": "Lovelace"},
        {},
        {"given_name": "A" * 50, "family_name": "B" * 40},
    ):
        assert (await _register(client, **name)).status_code == 422, name


async def test_a_profile_answers_and_changes_the_names(shopper: Any) -> None:
    ada = await shopper()  # registered as "Ada" "Lovelace"
    profile = (await ada.call("GET", "/v1/users/me")).json()
    assert (profile["given_name"], profile["family_name"]) == ("Ada", "Lovelace")
    changed = await ada.call(
        "PATCH", "/v1/users/me", json={"given_name": "Augusta Ada", "family_name": "King"}
    )
    assert changed.status_code == 200, changed.text
    profile = (await ada.call("GET", "/v1/users/me")).json()
    assert (profile["display_name"], profile["given_name"], profile["family_name"]) == (
        "Augusta Ada King",
        "Augusta Ada",
        "King",
    )
