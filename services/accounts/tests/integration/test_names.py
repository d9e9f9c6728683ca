"""The shopper's name, split into given and family names (expand/contract, docs/operations.md
"Changing a schema safely"): today's callers send a display name, new ones the two parts;
either way accounts answers all three."""

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


async def test_a_display_name_alone_is_split_by_the_rule(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    for name in ("Ada King Lovelace", "Plato"):
        assert (await _register(client, display_name=name)).status_code == 202
    assert await _names(db) == [("Ada King", "Lovelace"), ("Plato", None)]


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
    ada = await shopper()  # registered with the display name "Ada Lovelace"
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


async def test_a_name_written_before_the_split_is_read_by_the_rule(
    shopper: Any, db: asyncpg.Connection
) -> None:
    grace = await shopper()
    await db.execute(  # as written before release 1, and not backfilled yet
        "UPDATE users SET display_name = 'Grace Brewster Hopper', given_name = NULL,"
        " family_name = NULL WHERE id = $1",
        grace.user_id,
    )
    profile = (await grace.call("GET", "/v1/users/me")).json()
    assert (profile["display_name"], profile["given_name"], profile["family_name"]) == (
        "Grace Brewster Hopper",
        "Grace Brewster",
        "Hopper",
    )


async def test_a_new_name_clears_the_old_copy_for_the_release_before(
    shopper: Any, db: asyncpg.Connection
) -> None:
    ada = await shopper()
    await db.execute(  # as release 1 wrote it: both
        "UPDATE users SET display_name = 'Ada Lovelace' WHERE id = $1", ada.user_id
    )
    changed = await ada.call("PATCH", "/v1/users/me", json={"given_name": "Augusta"})
    assert changed.status_code == 200, changed.text
    row = await db.fetchrow(
        "SELECT display_name, given_name, family_name FROM users WHERE id = $1", ada.user_id
    )
    # No stale copy: release 1, still serving, shows given + family where there is none.
    assert tuple(row) == (None, "Augusta", None)
