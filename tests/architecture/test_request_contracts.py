"""What every committed contract promises about request bodies, checked on every operation
that takes one (generated from services/*/openapi.json, so a new route is covered the day
it is added): the request limits' refusals are documented (413, 415, 400 as problem+json,
`chassis.limits`); every array a request may carry has a `maxItems` (the model's
`Field(max_length=...)`); and every object in it refuses fields it does not name
(`additionalProperties: false`, the models' `extra="forbid"`: no mass assignment)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mosaic_testing.contracts import Operation, json_body_operations

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = json_body_operations(ROOT)


def test_the_contracts_have_operations_with_bodies() -> None:
    assert {op.service for op in OPERATIONS} >= {"accounts", "cart", "catalog", "orders"}
    assert len(OPERATIONS) >= 20


def walk(op: Operation, schema: dict[str, Any], where: str) -> Iterator[tuple[str, Any]]:
    """Every (location, schema) in a request body, references followed."""
    seen: set[str] = set()

    def visit(node: dict[str, Any], at: str) -> Iterator[tuple[str, Any]]:
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[1]
            if name in seen:
                return
            seen.add(name)
            node = op.resolve(node)
        yield at, node
        for key, value in node.get("properties", {}).items():
            yield from visit(value, f"{at}.{key}")
        for option in node.get("anyOf", []) + node.get("oneOf", []) + node.get("allOf", []):
            yield from visit(option, at)
        if isinstance(node.get("items"), dict):
            yield from visit(node["items"], f"{at}[]")

    yield from visit(schema, where)


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_the_limits_refusals_are_documented(op: Operation) -> None:
    responses = op.spec["responses"]
    for status in ("400", "413", "415"):
        assert status in responses, f"{op.name} does not document {status}"
        assert "application/problem+json" in responses[status].get("content", {}), status


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_every_array_in_a_request_is_bounded(op: Operation) -> None:
    schema = op.spec["requestBody"]["content"]["application/json"]["schema"]
    unbounded = [at for at, node in walk(op, schema, "body") if node.get("type") == "array"
                 and "maxItems" not in node]  # fmt: skip
    assert unbounded == [], f"{op.name}: arrays without maxItems (Field(max_length=...))"


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_every_object_in_a_request_refuses_unknown_fields(op: Operation) -> None:
    schema = op.spec["requestBody"]["content"]["application/json"]["schema"]
    open_objects = [
        at
        for at, node in walk(op, schema, "body")
        if (node.get("type") == "object" or "properties" in node)
        and node.get("additionalProperties") is not False
    ]
    assert open_objects == [], f"{op.name}: objects taking any field (extra='forbid')"
