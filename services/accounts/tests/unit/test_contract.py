"""The committed OpenAPI contract matches the code."""

from __future__ import annotations

import json

from accounts import addresses, domain
from accounts.openapi import CONTRACT, REGENERATE, contract
from accounts.problems import PROBLEMS
from chassis.contract import assert_up_to_date, error_classes, errors_not_problem_json, operations


def test_openapi_json_is_up_to_date() -> None:
    assert_up_to_date(CONTRACT, contract(), REGENERATE)


def test_the_contract_has_the_agreed_routes() -> None:
    assert operations(contract()) == {
        "/v1/users": ["post"],
        "/v1/users/verification-requests": ["post"],
        "/v1/verifications": ["post"],
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
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            needs_user = path.startswith("/v1/users/me") or path == "/v1/sessions/current"
            declared = operation.get("security") == [{"UserAccessToken": []}]
            assert declared == needs_user, f"{method.upper()} {path}"


def test_every_accounts_error_has_a_problem_type() -> None:
    errors = error_classes(domain.AccountsError, domain, addresses, besides=(domain.NotSignedIn,))
    assert errors == set(PROBLEMS)
