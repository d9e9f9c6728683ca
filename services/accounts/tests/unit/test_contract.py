"""The committed OpenAPI contract matches the code."""

from __future__ import annotations

import json

from accounts import addresses, domain
from accounts.openapi import CONTRACT, REGENERATE, contract
from accounts.problems import PROBLEMS
from chassis.contract import errors_not_problem_json


def test_openapi_json_is_up_to_date() -> None:
    committed = CONTRACT.read_bytes() if CONTRACT.exists() else b""
    assert committed == contract(), (
        f"{CONTRACT.name} differs from the API in the code. If the change is intended, "
        f"run `{REGENERATE}` from the repository root with the workspace venv and commit "
        "the file; if not, the code broke the contract."
    )


def test_the_contract_has_the_agreed_routes() -> None:
    paths = json.loads(contract())["paths"]
    assert {path: sorted(operations) for path, operations in paths.items()} == {
        "/v1/users": ["post"],
        "/v1/users/me": ["get", "patch"],
        "/v1/users/me/password": ["post"],
        "/v1/users/me/addresses": ["get", "post"],
        "/v1/users/me/addresses/{address_id}": ["delete", "get", "put"],
        "/v1/sessions": ["post"],
        "/v1/sessions/refresh": ["post"],
        "/v1/sessions/current": ["delete", "get"],
    }


def test_every_error_in_the_contract_is_problem_json() -> None:
    assert errors_not_problem_json(contract()) == []


def test_routes_about_the_user_declare_the_bearer_token() -> None:
    document = json.loads(contract())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            needs_user = path.startswith("/v1/users/me") or path == "/v1/sessions/current"
            declared = operation.get("security") == [{"UserAccessToken": []}]
            assert declared == needs_user, f"{method.upper()} {path}"


def test_every_accounts_error_has_a_problem_type() -> None:
    errors = {
        value
        for module in (domain, addresses)
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, domain.AccountsError)
        and value not in (domain.AccountsError, domain.NotSignedIn)
    }
    assert errors == set(PROBLEMS)
