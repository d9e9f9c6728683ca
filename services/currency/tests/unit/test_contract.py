"""The committed OpenAPI contract matches the code."""

from __future__ import annotations

import json

from chassis.contract import errors_not_problem_json
from currency import domain
from currency.openapi import CONTRACT, REGENERATE, contract
from currency.problems import PROBLEMS


def test_openapi_json_is_up_to_date() -> None:
    committed = CONTRACT.read_bytes() if CONTRACT.exists() else b""
    assert committed == contract(), (
        f"{CONTRACT.name} differs from the API in the code. If the change is intended, "
        f"run `{REGENERATE}` from the repository root with the workspace venv and commit "
        "the file; if not, the code broke the contract."
    )


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
    errors = {
        value
        for value in vars(domain).values()
        if isinstance(value, type)
        and issubclass(value, domain.CurrencyError)
        and value is not domain.CurrencyError
    }
    assert errors == set(PROBLEMS)
