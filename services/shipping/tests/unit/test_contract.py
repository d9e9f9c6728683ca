"""The committed OpenAPI contract matches the code."""

from __future__ import annotations

import json

from chassis.contract import assert_up_to_date, error_classes, errors_not_problem_json, operations
from shipping import domain
from shipping.openapi import CONTRACT, REGENERATE, contract
from shipping.problems import PROBLEMS


def test_openapi_json_is_up_to_date() -> None:
    assert_up_to_date(CONTRACT, contract(), REGENERATE)


def test_the_contract_has_the_agreed_routes() -> None:
    assert operations(contract()) == {
        "/v1/quotes": ["post"],
        "/v1/shipments": ["get", "post"],
        "/v1/shipments/{shipment_id}": ["get"],
        "/v1/shipments/{shipment_id}/cancel": ["post"],
    }


def test_creating_a_shipment_documents_its_key() -> None:
    operation = json.loads(contract())["paths"]["/v1/shipments"]["post"]
    [header] = [p for p in operation["parameters"] if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key"
    # 413 and 415: the request limits every body route documents (chassis.limits)
    assert sorted(operation["responses"]) == ["201", "400", "413", "415", "422"]


def test_every_error_in_the_contract_is_problem_json() -> None:
    assert errors_not_problem_json(contract()) == []


def test_every_shipping_error_has_a_problem_type() -> None:
    errors = error_classes(domain.ShippingError, domain)
    assert errors == set(PROBLEMS)
