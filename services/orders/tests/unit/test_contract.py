"""The committed contracts match the code: the OpenAPI document and the event schemas."""

from __future__ import annotations

import json

from chassis.contract import assert_up_to_date, errors_not_problem_json, operations
from orders import events
from orders.openapi import CONTRACT, REGENERATE, contract


def test_openapi_json_is_up_to_date() -> None:
    assert_up_to_date(CONTRACT, contract(), REGENERATE)


def test_the_contract_has_the_agreed_routes() -> None:
    assert operations(contract()) == {
        "/v1/orders": ["get", "post"],
        "/v1/orders/by-key": ["get"],
        "/v1/orders/by-token/{token}": ["get"],
        "/v1/limits/{currency}": ["get"],
        "/v1/orders/{order_id}": ["get"],
        "/v1/admin/orders/{order_id}": ["get"],
    }


def test_every_error_in_the_contract_is_problem_json() -> None:
    assert errors_not_problem_json(contract()) == []


def test_the_event_schemas_are_committed_as_generated() -> None:
    assert events.main(["--check"]) == 0, "run `python -m orders.events` and commit the files"


def test_each_event_schema_is_versioned_and_names_its_type() -> None:
    for (kind, version), _ in events.ENVELOPES.items():
        schema = json.loads(events.schema_path(kind, version).read_bytes())
        assert schema["$id"].endswith(f"/{kind}.v{version}.json")
        assert schema["properties"]["type"]["const"] == kind
        assert schema["properties"]["version"]["const"] == version


def test_event_schemas_let_readers_tolerate_added_optional_fields() -> None:
    for kind, version in events.ENVELOPES:
        assert b'"additionalProperties": false' not in events.schema(kind, version)
    confirmed = json.loads(events.schema_path("OrderConfirmed", 1).read_bytes())
    data = confirmed["$defs"]["OrderConfirmedV1"]
    assert "address" in data["properties"] and "address" not in data["required"]
    assert "region" not in confirmed["$defs"]["AddressV1"]["required"]
