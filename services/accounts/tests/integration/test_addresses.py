"""Saved addresses: a user keeps their own, and cannot see or touch anyone else's."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from accounts.addresses import MAX_ADDRESSES

HOME: dict[str, Any] = {
    "recipient": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "sw1y 4jh",
    "country": "GB",
}
WORK = {**HOME, "line1": "Analytical Engine Works", "line2": "Floor 2", "postal_code": "EC1A 1BB"}


async def test_add_read_list_replace_delete(shopper: Any) -> None:
    ada = await shopper()
    added = await ada.call("POST", "/v1/users/me/addresses", json=HOME)
    assert added.status_code == 201
    home = added.json()
    assert added.headers["Location"] == f"/v1/users/me/addresses/{home['id']}"
    assert home["postal_code"] == "SW1Y 4JH"
    assert (home["line2"], home["region"]) == ("", "")

    assert (await ada.call("GET", added.headers["Location"])).json() == home
    work = (await ada.call("POST", "/v1/users/me/addresses", json=WORK)).json()
    listed = (await ada.call("GET", "/v1/users/me/addresses")).json()["items"]
    assert [a["id"] for a in listed] == [home["id"], work["id"]]  # oldest first

    moved = {**HOME, "line1": "1 New Street", "region": "Greater London"}
    replaced = await ada.call("PUT", f"/v1/users/me/addresses/{home['id']}", json=moved)
    assert replaced.status_code == 200
    assert replaced.json()["line1"] == "1 New Street"
    assert replaced.json()["region"] == "Greater London"
    assert replaced.json()["created_at"] == home["created_at"]

    gone = await ada.call("DELETE", f"/v1/users/me/addresses/{home['id']}")
    assert gone.status_code == 204
    listed = (await ada.call("GET", "/v1/users/me/addresses")).json()["items"]
    assert [a["id"] for a in listed] == [work["id"]]


async def test_another_users_address_does_not_exist_for_you(shopper: Any, problem: Any) -> None:
    ada, mallory = await shopper(), await shopper()
    home = (await ada.call("POST", "/v1/users/me/addresses", json=HOME)).json()
    path = f"/v1/users/me/addresses/{home['id']}"

    assert (await mallory.call("GET", "/v1/users/me/addresses")).json() == {"items": []}
    problem(await mallory.call("GET", path), 404, "address-not-found")
    problem(await mallory.call("PUT", path, json=WORK), 404, "address-not-found")
    problem(await mallory.call("DELETE", path), 404, "address-not-found")
    # Exactly what an id that exists nowhere gets.
    nowhere = f"/v1/users/me/addresses/{uuid.uuid4()}"
    problem(await mallory.call("GET", nowhere), 404, "address-not-found")
    # Ada's address is untouched.
    assert (await ada.call("GET", path)).json() == home


async def test_an_account_keeps_a_bounded_number_of_addresses(shopper: Any, problem: Any) -> None:
    ada = await shopper()
    for n in range(MAX_ADDRESSES):
        draft = {**HOME, "line1": f"{n} Street"}
        assert (await ada.call("POST", "/v1/users/me/addresses", json=draft)).status_code == 201
    problem(
        await ada.call("POST", "/v1/users/me/addresses", json=HOME), 409, "address-limit-reached"
    )


@pytest.mark.parametrize(
    "change",
    [
        {"recipient": ""},
        {"recipient": "   "},
        {"line1": "two\nlines"},
        {"city": None},
        {"postal_code": "#"},
        {"country": "XX"},
        {"country": "gb"},
        {"id": "chosen-by-me"},
        {"user_id": "someone"},
    ],
)
async def test_invalid_addresses_are_refused(
    shopper: Any, change: dict[str, Any], problem: Any
) -> None:
    ada = await shopper()
    body = {**HOME, **change}
    problem(await ada.call("POST", "/v1/users/me/addresses", json=body), 422, "invalid-request")


@pytest.mark.parametrize("address_id", ["42", "not-a-uuid", "../../users"])
async def test_a_malformed_address_id_is_refused(
    shopper: Any, address_id: str, problem: Any
) -> None:
    ada = await shopper()
    response = await ada.call("GET", f"/v1/users/me/addresses/{address_id}")
    assert response.status_code in (404, 422)
    assert response.headers["content-type"] == "application/problem+json"


async def test_addresses_need_a_signed_in_user(shopper: Any, problem: Any) -> None:
    ada = await shopper()
    await ada.call("DELETE", "/v1/sessions/current")
    problem(await ada.call("GET", "/v1/users/me/addresses"), 401, "session-ended")
    problem(await ada.call("POST", "/v1/users/me/addresses", json=HOME), 401, "session-ended")
