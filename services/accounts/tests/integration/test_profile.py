"""The profile: a user reads and changes their own, and only their own."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from accounts.handlers import Rules


async def test_a_user_reads_their_profile(shopper: Any) -> None:
    ada = await shopper()
    response = await ada.call("GET", "/v1/users/me")
    assert response.status_code == 200
    assert response.json() == ada.signed_in["user"]
    assert "password_hash" not in response.text


async def test_the_name_changes_without_a_password(shopper: Any) -> None:
    ada = await shopper()
    response = await ada.call("PATCH", "/v1/users/me", json={"given_name": " Countess  Ada "})
    assert response.status_code == 200
    assert response.json()["given_name"] == "Countess Ada"
    assert response.json()["display_name"] == "Countess Ada"  # derived: no family name now
    assert (await ada.call("GET", "/v1/users/me")).json()["given_name"] == "Countess Ada"


async def test_a_new_email_address_needs_the_password(
    shopper: Any, email: str, password: str, problem: Any
) -> None:
    ada = await shopper()
    problem(
        await ada.call("PATCH", "/v1/users/me", json={"email": email}), 422, "password-required"
    )
    wrong = {"email": email, "current_password": "not-my-password"}
    problem(await ada.call("PATCH", "/v1/users/me", json=wrong), 403, "wrong-password")
    right = {"email": email.upper(), "current_password": password}
    response = await ada.call("PATCH", "/v1/users/me", json=right)
    assert response.status_code == 200
    assert response.json()["email"] == email
    ada.email = email
    assert (await ada.sign_in()).status_code == 201


async def test_an_address_someone_else_has_cannot_be_taken(
    shopper: Any, password: str, problem: Any
) -> None:
    ada, bob = await shopper(), await shopper()
    change = {"email": bob.email, "current_password": password}
    problem(await ada.call("PATCH", "/v1/users/me", json=change), 409, "email-unavailable")
    assert (await ada.call("GET", "/v1/users/me")).json()["email"] == ada.email


async def test_email_changes_are_limited_even_with_the_right_password(
    shopper: Any, password: str, rules: Rules, problem: Any
) -> None:
    """Each "taken" answer tells who has an account: a user gets few chances to ask."""
    ada, bob = await shopper(), await shopper()
    probe = {"email": bob.email, "current_password": password}
    for _ in range(rules.password_checks_per_user.attempts):
        problem(await ada.call("PATCH", "/v1/users/me", json=probe), 409, "email-unavailable")
    problem(await ada.call("PATCH", "/v1/users/me", json=probe), 429, "too-many-attempts")
    # Changing the name needs no password and is not limited.
    name = {"given_name": "Ada"}
    assert (await ada.call("PATCH", "/v1/users/me", json=name)).status_code == 200


async def test_password_confirmations_are_limited(shopper: Any, rules: Rules, problem: Any) -> None:
    """A stolen session cannot be used to guess the password."""
    ada = await shopper()
    guess = {"email": "new@example.com", "current_password": "guess"}
    for _ in range(rules.password_checks_per_user.attempts):
        problem(await ada.call("PATCH", "/v1/users/me", json=guess), 403, "wrong-password")
    refused = await ada.call("PATCH", "/v1/users/me", json=guess)
    problem(refused, 429, "too-many-attempts")
    assert int(refused.headers["Retry-After"]) >= 1
    change = {"current_password": "guess", "new_password": "quince-harbor-lantern-9"}
    problem(await ada.call("POST", "/v1/users/me/password", json=change), 429, "too-many-attempts")


@pytest.mark.parametrize(
    "changes",
    [
        {"given_name": ""},
        {"given_name": "   "},
        {"given_name": "two\nlines"},
        {"given_name": "x" * 81},
        {"given_name": None, "email": None, "nickname": "ada"},
        {"display_name": "Ada"},
        {"email": 42},
    ],
)
async def test_malformed_changes_are_refused(
    shopper: Any, changes: dict[str, Any], problem: Any
) -> None:
    ada = await shopper()
    problem(await ada.call("PATCH", "/v1/users/me", json=changes), 422, "invalid-request")


async def test_a_malformed_new_email_is_refused(shopper: Any, password: str, problem: Any) -> None:
    ada = await shopper()
    change = {"email": "ada@", "current_password": password}
    problem(await ada.call("PATCH", "/v1/users/me", json=change), 422, "invalid-email")


async def test_a_weak_new_password_is_refused(shopper: Any, password: str, problem: Any) -> None:
    ada = await shopper()
    for new, reason in [
        ("short", "Use at least 12 characters."),
        (password, "Choose a password different from the current one."),
        (ada.email, "Do not use your email address as the password."),
    ]:
        change = {"current_password": password, "new_password": new}
        body = problem(
            await ada.call("POST", "/v1/users/me/password", json=change), 422, "password-rejected"
        )
        assert reason in body["reasons"]
    # Nothing changed: the session still stands and the password still works.
    assert (await ada.call("GET", "/v1/sessions/current")).status_code == 200
    assert (await ada.sign_in()).status_code == 201


async def test_a_wrong_current_password_changes_nothing(shopper: Any, problem: Any) -> None:
    ada = await shopper()
    change = {"current_password": "not-it-at-all", "new_password": "quince-harbor-lantern-9"}
    problem(await ada.call("POST", "/v1/users/me/password", json=change), 403, "wrong-password")
    assert (await ada.call("GET", "/v1/sessions/current")).status_code == 200


@pytest.mark.parametrize(
    "body",
    [{}, {"current_password": "x"}, {"new_password": "quince-harbor-lantern-9"}],
)
async def test_malformed_password_changes_are_refused(
    shopper: Any, body: dict[str, Any], problem: Any
) -> None:
    ada = await shopper()
    problem(await ada.call("POST", "/v1/users/me/password", json=body), 422, "invalid-request")


async def test_there_is_no_way_to_name_another_user(
    client: httpx.AsyncClient, shopper: Any
) -> None:
    """Profiles are only ever `me`: no route takes a user id."""
    ada, bob = await shopper(), await shopper()
    for path in (f"/v1/users/{bob.user_id}", f"/v1/users/{bob.user_id}/addresses"):
        response = await ada.call("GET", path)
        assert response.status_code in (404, 405)
    me = await ada.call("GET", "/v1/users/me")
    assert me.json()["id"] == ada.user_id != bob.user_id
