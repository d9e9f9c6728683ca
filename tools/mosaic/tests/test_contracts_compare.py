"""The breaking-change check on small contract pairs: one pair per kind of break, each caught
with its message, and a set of compatible changes that must pass.

The contracts are shaped as FastAPI and pydantic write them: `$ref` to components, optional
fields as `anyOf: [X, {type: null}]`, an embedded problem schema with its own `$defs`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from mosaic.compat.check import compare

Doc = dict[str, Any]
Change = Callable[[Doc], None]


def api() -> Doc:
    problem = {
        "$defs": {"FieldError": {"properties": {"location": {"type": "string"}}}},
        "properties": {
            "type": {"type": "string"},
            "errors": {
                "anyOf": [
                    {"items": {"$ref": "#/$defs/FieldError"}, "type": "array"},
                    {"type": "null"},
                ]
            },
        },
        "required": ["type"],
        "type": "object",
    }
    order = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}}
    return {
        "openapi": "3.1.0",
        "paths": {
            "/v1/orders/{order_id}": {
                "get": {
                    "parameters": [
                        {
                            "in": "path",
                            "name": "order_id",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {
                            "in": "query",
                            "name": "expand",
                            "required": False,
                            "schema": {
                                "anyOf": [{"type": "string", "maxLength": 20}, {"type": "null"}]
                            },
                        },
                    ],
                    "responses": {
                        "200": order,
                        "404": {"content": {"application/problem+json": {"schema": problem}}},
                    },
                }
            },
            "/v1/orders": {
                "post": {
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/OrderIn"}}
                        },
                    },
                    "responses": {"201": copy.deepcopy(order)},
                }
            },
        },
        "components": {
            "schemas": {
                "Order": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "status": {"type": "string", "enum": ["processing", "confirmed"]},
                        "total": {"type": "integer"},
                        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                        "lines": {"type": "array", "items": {"$ref": "#/components/schemas/Line"}},
                    },
                    "required": ["id", "status", "total", "note", "lines"],
                },
                "Line": {
                    "type": "object",
                    "properties": {"sku": {"type": "string"}, "quantity": {"type": "integer"}},
                    "required": ["sku", "quantity"],
                },
                "OrderIn": {
                    "type": "object",
                    "properties": {
                        "email": {"type": "string", "maxLength": 100},
                        "quantity": {"type": "integer", "maximum": 10},
                        "weight": {"type": "number"},
                        "speed": {"type": "string", "enum": ["standard", "express"]},
                        "coupon": {
                            "anyOf": [{"type": "string", "pattern": "^[A-Z]+$"}, {"type": "null"}]
                        },
                    },
                    "required": ["email", "quantity"],
                },
            }
        },
    }


def event() -> Doc:
    """An event envelope's schema as chassis.envelopes writes it."""
    return {
        "$defs": {
            "Data": {
                "type": "object",
                "properties": {
                    "order_id": {"type": "string", "format": "uuid"},
                    "email": {"type": "string"},
                    "total": {"type": "integer"},
                    "address": {"anyOf": [{"$ref": "#/$defs/Address"}, {"type": "null"}]},
                },
                "required": ["order_id", "email", "total"],
            },
            "Address": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
                "required": ["city", "country"],
            },
        },
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "type": {"const": "OrderConfirmed", "type": "string"},
            "version": {"const": 1, "type": "integer"},
            "data": {"$ref": "#/$defs/Data"},
        },
        "required": ["id", "type", "version", "data"],
        "type": "object",
    }


def schemas(doc: Doc) -> Doc:
    result: Doc = doc["components"]["schemas"]
    return result


def data(doc: Doc) -> Doc:
    result: Doc = doc["$defs"]["Data"]
    return result


def forbidding_others(doc: Doc, component: str) -> Doc:
    schemas(doc)[component]["additionalProperties"] = False
    return doc


def deprecating(doc: Doc, field: str) -> Doc:
    """The request field marked `deprecated: true`, as pydantic writes it beside `anyOf`."""
    schemas(doc)["OrderIn"]["properties"][field]["deprecated"] = True
    return doc


def rename(mapping: Doc, old: str, new: str) -> None:
    mapping[new] = mapping.pop(old)


GET = "services/orders/openapi.json: GET /v1/orders/{order_id}"
POST = "services/orders/openapi.json: POST /v1/orders"
OK_BODY = f"{GET}: response 200 application/json body"
IN_BODY = f"{POST}: request application/json body"
EVENT = "services/orders/events/OrderConfirmed.v1.json: event.data"

# (what changes, the change, the break it must be reported as)
BREAKS: list[tuple[str, Doc, Change, str]] = [
    (
        "removed path",
        api(),
        lambda d: d["paths"].pop("/v1/orders"),
        "services/orders/openapi.json: /v1/orders: removed path",
    ),
    (
        "renamed path",
        api(),
        lambda d: rename(d["paths"], "/v1/orders", "/v1/order"),
        "services/orders/openapi.json: /v1/orders: removed path",
    ),
    (
        "removed operation",
        api(),
        lambda d: rename(d["paths"]["/v1/orders"], "post", "put"),
        f"{POST}: removed operation",
    ),
    (
        "removed response field",
        api(),
        lambda d: schemas(d)["Order"]["properties"].pop("note"),
        f"{OK_BODY}.note: removed field",
    ),
    (
        "renamed response field",
        api(),
        lambda d: rename(schemas(d)["Order"]["properties"], "total", "amount"),
        f"{OK_BODY}.total: removed field",
    ),
    (
        "removed field of a nested response object",
        api(),
        lambda d: schemas(d)["Line"]["properties"].pop("sku"),
        f"{OK_BODY}.lines[].sku: removed field",
    ),
    (
        "response enum gained a value",
        api(),
        lambda d: schemas(d)["Order"]["properties"]["status"]["enum"].append("refunded"),
        f'{OK_BODY}.status: added enum value: "refunded"',
    ),
    (
        "renamed response enum value",
        api(),
        lambda d: schemas(d)["Order"]["properties"]["status"].update(enum=["processing", "done"]),
        f'{OK_BODY}.status: added enum value: "done"',
    ),
    (
        "removed request enum value",
        api(),
        lambda d: schemas(d)["OrderIn"]["properties"]["speed"].update(enum=["standard"]),
        f'{IN_BODY}.speed: removed enum value: "express" is no longer accepted',
    ),
    (
        "new required request field",
        api(),
        lambda d: (
            schemas(d)["OrderIn"]["properties"].update(phone={"type": "string"}),
            schemas(d)["OrderIn"]["required"].append("phone"),
        ),
        f"{IN_BODY}.phone: new required field",
    ),
    (
        "optional request field made required",
        api(),
        lambda d: schemas(d)["OrderIn"]["required"].append("coupon"),
        f"{IN_BODY}.coupon: field made required",
    ),
    (
        "removed request field",
        api(),
        lambda d: schemas(d)["OrderIn"]["properties"].pop("speed"),
        f"{IN_BODY}.speed: removed field: callers still send it (422)",
    ),
    (
        "removed request field marked deprecated, but required",
        deprecating(api(), "email"),
        lambda d: schemas(d)["OrderIn"]["properties"].pop("email"),
        f"{IN_BODY}.email: removed field: callers still send it (422)",
    ),
    (
        "removed request field the release after another was deprecated",
        deprecating(api(), "coupon"),
        lambda d: schemas(d)["OrderIn"]["properties"].pop("weight"),
        f"{IN_BODY}.weight: removed field: callers still send it (422)",
    ),
    (
        "new required parameter",
        api(),
        lambda d: d["paths"]["/v1/orders/{order_id}"]["get"]["parameters"].append(
            {"in": "header", "name": "x-tenant", "required": True, "schema": {"type": "string"}}
        ),
        f"{GET}: header parameter x-tenant: new required parameter",
    ),
    (
        "optional parameter made required",
        api(),
        lambda d: d["paths"]["/v1/orders/{order_id}"]["get"]["parameters"][1].update(required=True),
        f"{GET}: query parameter expand: parameter made required",
    ),
    (
        "removed parameter",
        api(),
        lambda d: d["paths"]["/v1/orders/{order_id}"]["get"]["parameters"].pop(1),
        f"{GET}: query parameter expand: removed parameter",
    ),
    (
        "parameter's limit tightened",
        api(),
        lambda d: d["paths"]["/v1/orders/{order_id}"]["get"]["parameters"][1]["schema"]["anyOf"][
            0
        ].update(maxLength=10),
        f"{GET}: query parameter expand: limit tightened: maxLength 20 -> 10",
    ),
    (
        "request field no longer nullable",
        api(),
        lambda d: schemas(d)["OrderIn"]["properties"].update(coupon={"type": "string"}),
        f"{IN_BODY}.coupon: type narrowed: no longer accepts null",
    ),
    (
        "request number narrowed to integer",
        api(),
        lambda d: schemas(d)["OrderIn"]["properties"].update(weight={"type": "integer"}),
        f"{IN_BODY}.weight: type narrowed: no longer accepts number",
    ),
    (
        "request format added",
        api(),
        lambda d: schemas(d)["OrderIn"]["properties"]["email"].update(format="email"),
        f"{IN_BODY}.email: format changed: None -> 'email'",
    ),
    (
        "request maxLength tightened",
        api(),
        lambda d: schemas(d)["OrderIn"]["properties"]["email"].update(maxLength=50),
        f"{IN_BODY}.email: limit tightened: maxLength 100 -> 50",
    ),
    (
        "request maximum tightened",
        api(),
        lambda d: schemas(d)["OrderIn"]["properties"]["quantity"].update(maximum=5),
        f"{IN_BODY}.quantity: limit tightened: maximum 10 -> 5",
    ),
    (
        "request pattern tightened",
        api(),
        lambda d: schemas(d)["OrderIn"]["properties"]["coupon"]["anyOf"][0].update(
            pattern="^[A-Z]{4}$"
        ),
        f"{IN_BODY}.coupon: pattern changed: '^[A-Z]+$' -> '^[A-Z]{{4}}$'",
    ),
    (
        "response field's type changed",
        api(),
        lambda d: schemas(d)["Order"]["properties"].update(total={"type": "string"}),
        f"{OK_BODY}.total: type changed: may now be string (was integer)",
    ),
    (
        "response field may now be null",
        api(),
        lambda d: schemas(d)["Order"]["properties"].update(
            total={"anyOf": [{"type": "integer"}, {"type": "null"}]}
        ),
        f"{OK_BODY}.total: type changed: may now be null",
    ),
    (
        "response format changed",
        api(),
        lambda d: schemas(d)["Order"]["properties"]["id"].update(format="uri"),
        f"{OK_BODY}.id: format changed: 'uuid' -> 'uri'",
    ),
    (
        "response field made optional",
        api(),
        lambda d: schemas(d)["Order"]["required"].remove("total"),
        f"{OK_BODY}.total: field made optional",
    ),
    (
        "success status changed",
        api(),
        lambda d: rename(d["paths"]["/v1/orders"]["post"]["responses"], "201", "200"),
        f"{POST}: responses: success status changed: 201 -> 200",
    ),
    (
        "response media type changed",
        api(),
        lambda d: rename(
            d["paths"]["/v1/orders/{order_id}"]["get"]["responses"]["200"]["content"],
            "application/json",
            "application/x-ndjson",
        ),
        f"{GET}: response 200: media type changed: callers read application/json",
    ),
    (
        "request media type changed",
        api(),
        lambda d: rename(
            d["paths"]["/v1/orders"]["post"]["requestBody"]["content"],
            "application/json",
            "application/x-www-form-urlencoded",
        ),
        f"{POST}: request: media type changed: callers send application/json",
    ),
    (
        "error body's embedded $defs field removed",
        api(),
        lambda d: d["paths"]["/v1/orders/{order_id}"]["get"]["responses"]["404"]["content"][
            "application/problem+json"
        ]["schema"]["$defs"]["FieldError"]["properties"].pop("location"),
        f"{GET}: response 404 application/problem+json body.errors[].location: removed field",
    ),
    (
        "event: required field removed",
        event(),
        lambda d: data(d)["properties"].pop("email"),
        f"{EVENT}.email: removed field",
    ),
    (
        "event: required field retyped",
        event(),
        lambda d: data(d)["properties"].update(total={"type": "string"}),
        f"{EVENT}.total: type changed: may now be string",
    ),
    (
        "event: optional field made required",
        event(),
        lambda d: data(d)["required"].append("address"),
        f"{EVENT}.address: field made required",
    ),
    (
        "event: optional field removed",
        event(),
        lambda d: data(d)["properties"].pop("address"),
        f"{EVENT}.address: removed field",
    ),
    (
        "event: nested field of an optional object removed",
        event(),
        lambda d: d["$defs"]["Address"]["properties"].pop("country"),
        f"{EVENT}.address.country: removed field",
    ),
]

COMPATIBLE: list[tuple[str, Doc, Change]] = [
    (
        "removed optional request field the released contract marked deprecated",
        deprecating(api(), "coupon"),
        lambda d: schemas(d)["OrderIn"]["properties"].pop("coupon"),
    ),
    (
        "added optional request field",
        api(),
        lambda d: schemas(d)["OrderIn"]["properties"].update(gift={"type": "boolean"}),
    ),
    (
        "added path",
        api(),
        lambda d: d["paths"].update({"/v1/orders/{order_id}/notes": {"get": {"responses": {}}}}),
    ),
    (
        "a /v2 path beside /v1",
        api(),
        lambda d: d["paths"].update(
            {"/v2/orders/{order_id}": {"get": {"responses": {"200": {"content": {}}}}}}
        ),
    ),
    (
        "added enum value in a request",
        api(),
        lambda d: schemas(d)["OrderIn"]["properties"]["speed"]["enum"].append("overnight"),
    ),
    (
        "added response field",
        api(),
        lambda d: schemas(d)["Order"]["properties"].update(placed_at={"type": "string"}),
    ),
    (
        "added response field to a schema that forbids others (FastAPI, shared with requests)",
        forbidding_others(api(), "Line"),
        lambda d: schemas(d)["Line"]["properties"].update(colour={"type": "string"}),
    ),
    (
        "added optional parameter",
        api(),
        lambda d: d["paths"]["/v1/orders/{order_id}"]["get"]["parameters"].append(
            {"in": "query", "name": "lang", "required": False, "schema": {"type": "string"}}
        ),
    ),
    (
        "added error status",
        api(),
        lambda d: d["paths"]["/v1/orders"]["post"]["responses"].update({"409": {"content": {}}}),
    ),
    (
        "renamed path parameter",
        api(),
        lambda d: rename(d["paths"], "/v1/orders/{order_id}", "/v1/orders/{id}"),
    ),
    (
        "request limit loosened",
        api(),
        lambda d: schemas(d)["OrderIn"]["properties"]["email"].update(maxLength=200),
    ),
    (
        "request field may be null now",
        api(),
        lambda d: schemas(d)["OrderIn"]["properties"].update(
            email={"anyOf": [{"type": "string", "maxLength": 100}, {"type": "null"}]}
        ),
    ),
    (
        "request integer widened to number",
        api(),
        lambda d: schemas(d)["OrderIn"]["properties"]["quantity"].update(type="number"),
    ),
    (
        "response component renamed, same shape",
        api(),
        lambda d: _rename_component(d, "Order", "OrderView"),
    ),
    (
        "event: added optional field",
        event(),
        lambda d: data(d)["properties"].update(
            tracking_id={"anyOf": [{"type": "string"}, {"type": "null"}]}
        ),
    ),
]


def _rename_component(doc: Doc, old: str, new: str) -> None:
    rename(schemas(doc), old, new)
    text = json.dumps(doc).replace(f'#/components/schemas/{old}"', f'#/components/schemas/{new}"')
    doc.update(json.loads(text))


def name_of(doc: Doc) -> str:
    return "services/orders/openapi.json" if "openapi" in doc else EVENT.split(":")[0]


@pytest.mark.parametrize(
    ("old", "change", "expected"),
    [pytest.param(old, change, expected, id=what) for what, old, change, expected in BREAKS],
)
def test_each_kind_of_break_is_caught_with_what_and_where(
    old: Doc, change: Change, expected: str
) -> None:
    new = copy.deepcopy(old)
    change(new)
    found = [str(one) for one in compare(name_of(old), old, new)]
    assert any(line.startswith(expected) for line in found), found


@pytest.mark.parametrize(
    ("old", "change"),
    [pytest.param(old, change, id=what) for what, old, change in COMPATIBLE],
)
def test_compatible_changes_pass(old: Doc, change: Change) -> None:
    new = copy.deepcopy(old)
    change(new)
    assert new != old
    assert compare(name_of(old), old, new) == []


def test_a_contract_compared_with_itself_has_no_break() -> None:
    for doc in (api(), event()):
        assert compare(name_of(doc), doc, copy.deepcopy(doc)) == []


def test_the_same_defs_name_in_two_embedded_schemas_is_compared_in_each() -> None:
    """pydantic embeds each error body with its own `$defs`: `#/$defs/E` in one answer is
    another schema than `#/$defs/E` in the next, and each is compared."""

    def answer(fields: list[str]) -> Doc:
        detail = {"type": "object", "properties": {f: {"type": "string"} for f in fields}}
        body = {"$defs": {"E": detail}, "properties": {"e": {"$ref": "#/$defs/E"}}}
        return {"get": {"responses": {"404": {"content": {"application/json": {"schema": body}}}}}}

    old = {"openapi": "3.1.0", "paths": {"/a": answer(["x"]), "/b": answer(["y"])}}
    new = {"openapi": "3.1.0", "paths": {"/a": answer(["x"]), "/b": answer([])}}
    [found] = compare("c", old, new)
    assert str(found).startswith("c: GET /b: response 404 application/json body.e.y: removed field")
