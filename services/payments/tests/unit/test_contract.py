"""The committed OpenAPI contract matches the code."""

from __future__ import annotations

import json

from chassis.contract import assert_up_to_date, error_classes, errors_not_problem_json, operations
from payments import domain
from payments.openapi import CONTRACT, REGENERATE, contract
from payments.problems import PROBLEMS


def test_openapi_json_is_up_to_date() -> None:
    assert_up_to_date(CONTRACT, contract(), REGENERATE)


def test_the_contract_has_the_agreed_routes() -> None:
    assert operations(contract()) == {
        "/v1/charges": ["get", "post"],
        "/v1/charges/{charge_id}": ["get"],
        "/v1/charges/{charge_id}/refunds": ["post"],
        "/v1/limits/{currency}": ["get"],
    }


def test_the_card_number_and_cvc_are_write_only() -> None:
    card = json.loads(contract())["components"]["schemas"]["CardIn"]["properties"]
    assert card["number"]["writeOnly"] is True
    assert card["cvc"]["writeOnly"] is True


def test_every_error_in_the_contract_is_problem_json() -> None:
    assert errors_not_problem_json(contract()) == []


def test_every_payments_error_has_a_problem_type() -> None:
    errors = error_classes(domain.PaymentsError, domain, besides=(domain.RefundRefused,))
    assert errors == set(PROBLEMS)
