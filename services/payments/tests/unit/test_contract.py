"""The committed OpenAPI contract matches the code."""

from __future__ import annotations

import json

from chassis.contract import errors_not_problem_json
from payments import domain
from payments.openapi import CONTRACT, REGENERATE, contract
from payments.problems import PROBLEMS


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
        "/v1/charges": ["get", "post"],
        "/v1/charges/{charge_id}": ["get"],
        "/v1/charges/{charge_id}/refunds": ["post"],
    }


def test_the_card_number_and_cvc_are_write_only() -> None:
    card = json.loads(contract())["components"]["schemas"]["CardIn"]["properties"]
    assert card["number"]["writeOnly"] is True
    assert card["cvc"]["writeOnly"] is True


def test_every_error_in_the_contract_is_problem_json() -> None:
    assert errors_not_problem_json(contract()) == []


def test_every_payments_error_has_a_problem_type() -> None:
    errors = {
        value
        for value in vars(domain).values()
        if isinstance(value, type)
        and issubclass(value, domain.PaymentsError)
        and value not in (domain.PaymentsError, domain.RefundRefused)
    }
    assert errors == set(PROBLEMS)
