"""The committed OpenAPI contract matches the code."""

from __future__ import annotations

import json

from chassis.contract import assert_up_to_date, error_classes, errors_not_problem_json
from currency import domain
from currency.openapi import CONTRACT, REGENERATE, contract
from currency.problems import PROBLEMS


def test_openapi_json_is_up_to_date() -> None:
    assert_up_to_date(CONTRACT, contract(), REGENERATE)


def test_the_contract_has_the_agreed_routes() -> None:
    paths = json.loads(contract())["paths"]

    assert set(paths) == {"/v1/currencies", "/v1/convert"}
    assert set(paths["/v1/currencies"]) == {"get"}
    assert set(paths["/v1/convert"]) == {"get", "post"}
    parameters = {p["name"] for p in paths["/v1/convert"]["get"]["parameters"]}
    assert parameters == {"amount", "from", "to"}


def test_every_error_in_the_contract_is_problem_json() -> None:
    assert errors_not_problem_json(contract()) == []


def test_every_currency_error_has_a_problem_type() -> None:
    errors = error_classes(domain.CurrencyError, domain)
    assert errors == set(PROBLEMS)
