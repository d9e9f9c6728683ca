"""The committed OpenAPI contract matches the code."""

from __future__ import annotations

from cart import domain
from cart.openapi import CONTRACT, REGENERATE, contract
from cart.problems import PROBLEMS
from chassis.contract import assert_up_to_date, error_classes, errors_not_problem_json, operations


def test_openapi_json_is_up_to_date() -> None:
    assert_up_to_date(CONTRACT, contract(), REGENERATE)


def test_the_contract_has_the_agreed_routes() -> None:
    assert operations(contract()) == {
        "/v1/carts": ["post"],
        "/v1/carts/current": ["get"],
        "/v1/carts/current/items": ["post"],
        "/v1/carts/merge": ["post"],
        "/v1/carts/{cart_id}": ["get"],
        "/v1/carts/{cart_id}/items": ["delete", "post"],
        "/v1/carts/{cart_id}/items/{product_id}": ["delete", "put"],
        "/v1/carts/{cart_id}/orders/{order_id}": ["put"],
    }


def test_every_error_in_the_contract_is_problem_json() -> None:
    assert errors_not_problem_json(contract()) == []


def test_every_cart_error_has_a_problem_type() -> None:
    errors = error_classes(domain.CartError, domain)
    assert errors == set(PROBLEMS)
