"""The committed OpenAPI contract matches the code."""

from __future__ import annotations

import json

from chassis.contract import errors_not_problem_json
from recommendations import handlers
from recommendations.openapi import CONTRACT, REGENERATE, contract
from recommendations.problems import PROBLEMS


def test_openapi_json_is_up_to_date() -> None:
    committed = CONTRACT.read_bytes() if CONTRACT.exists() else b""
    assert committed == contract(), (
        f"{CONTRACT.name} differs from the API in the code. If the change is intended, "
        f"run `{REGENERATE}` from the repository root with the workspace venv and commit "
        "the file; if not, the code broke the contract."
    )


def test_the_contract_has_the_agreed_route() -> None:
    paths = json.loads(contract())["paths"]

    assert set(paths) == {"/v1/recommendations"}
    assert set(paths["/v1/recommendations"]) == {"get"}
    parameters = {p["name"] for p in paths["/v1/recommendations"]["get"]["parameters"]}
    assert parameters == {"product_id", "exclude", "limit"}


def test_every_error_in_the_contract_is_problem_json() -> None:
    assert errors_not_problem_json(contract()) == []


def test_every_error_has_a_problem_type() -> None:
    errors = {
        value
        for value in vars(handlers).values()
        if isinstance(value, type)
        and issubclass(value, handlers.RecommendationError)
        and value is not handlers.RecommendationError
    }
    assert errors == set(PROBLEMS)
