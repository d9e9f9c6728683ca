"""The committed OpenAPI contract matches the code."""

from __future__ import annotations

import json

from cart import domain
from cart.openapi import CONTRACT, REGENERATE, contract
from cart.problems import PROBLEMS
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
        "/v1/carts": ["post"],
        "/v1/carts/current": ["get"],
        "/v1/carts/merge": ["post"],
        "/v1/carts/{cart_id}": ["get"],
        "/v1/carts/{cart_id}/items": ["delete", "post"],
        "/v1/carts/{cart_id}/items/{product_id}": ["delete", "put"],
        "/v1/carts/{cart_id}/orders/{order_id}": ["put"],
    }


def test_every_error_in_the_contract_is_problem_json() -> None:
    assert errors_not_problem_json(contract()) == []


def test_every_cart_error_has_a_problem_type() -> None:
    errors = {
        value
        for value in vars(domain).values()
        if isinstance(value, type)
        and issubclass(value, domain.CartError)
        and value is not domain.CartError
    }
    assert errors == set(PROBLEMS)
