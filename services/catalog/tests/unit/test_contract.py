"""The committed OpenAPI contract matches the code."""

from __future__ import annotations

import json

from catalog import domain
from catalog.openapi import CONTRACT, REGENERATE, contract
from catalog.problems import PROBLEMS
from chassis.contract import assert_up_to_date, error_classes, errors_not_problem_json


def test_openapi_json_is_up_to_date() -> None:
    assert_up_to_date(CONTRACT, contract(), REGENERATE)


def test_the_contract_has_the_agreed_routes() -> None:
    paths = json.loads(contract())["paths"]
    assert set(paths) == {
        "/v1/assortment",
        "/v1/categories",
        "/v1/products",
        "/v1/products/{product_id}",
        "/v1/search",
        "/v1/pictures/{product_id}.svg",
    }
    assert set(paths["/v1/products/{product_id}"]) == {"get", "put", "patch"}


def test_every_error_in_the_contract_is_problem_json() -> None:
    assert errors_not_problem_json(contract()) == []


def test_every_catalog_error_has_a_problem_type() -> None:
    errors = error_classes(domain.CatalogError, domain)
    assert errors == set(PROBLEMS)
