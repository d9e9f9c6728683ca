"""The committed OpenAPI contract matches the code."""

from __future__ import annotations

import json

from chassis.contract import assert_up_to_date, error_classes, errors_not_problem_json
from recommendations import handlers
from recommendations.openapi import CONTRACT, REGENERATE, contract
from recommendations.problems import PROBLEMS


def test_openapi_json_is_up_to_date() -> None:
    assert_up_to_date(CONTRACT, contract(), REGENERATE)


def test_the_contract_has_the_agreed_route() -> None:
    paths = json.loads(contract())["paths"]

    assert set(paths) == {"/v1/recommendations"}
    assert set(paths["/v1/recommendations"]) == {"get"}
    parameters = {p["name"] for p in paths["/v1/recommendations"]["get"]["parameters"]}
    assert parameters == {"product_id", "exclude", "limit"}


def test_every_error_in_the_contract_is_problem_json() -> None:
    assert errors_not_problem_json(contract()) == []


def test_every_error_has_a_problem_type() -> None:
    errors = error_classes(handlers.RecommendationError, handlers)
    assert errors == set(PROBLEMS)
