"""The consumer check: one small contract and reader per kind of defect, each named with the
caller, the callee, the route and the field; and a reader that fits passes."""

from __future__ import annotations

import copy
from typing import Any, Literal

import pytest
from chassis.consumers import Call, EventRead, Reads, check_call, check_event
from pydantic import BaseModel, ConfigDict

PARCEL = {
    "properties": {
        "id": {"type": "string"},
        "weight": {"type": "integer"},
        "status": {"enum": ["packed", "sent"], "type": "string"},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "tags": {"items": {"type": "string"}, "type": "array"},
    },
    "required": ["id", "weight", "status", "tags"],
    "type": "object",
}


def _answering(schema: dict[str, Any]) -> dict[str, Any]:
    """A GET answering 200 with this JSON body, as FastAPI writes it."""
    return {"get": {"responses": {"200": {"content": {"application/json": {"schema": schema}}}}}}


PARCELS = {
    "properties": {"items": {"items": {"$ref": "#/components/schemas/Parcel"}, "type": "array"}},
    "required": ["items"],
    "type": "object",
}
DOCUMENT: dict[str, Any] = {
    "paths": {
        "/v1/parcels/{parcel_id}": _answering({"$ref": "#/components/schemas/Parcel"}),
        "/v1/parcels": _answering(PARCELS),
    },
    "components": {"schemas": {"Parcel": PARCEL}},
}
WHERE = "shop -> parcels GET /v1/parcels/{pid}"


class _Read(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Parcel(_Read):
    id: str
    weight: float  # an integer reads as a number
    status: Literal["packed", "sent", "lost"]
    note: str | None = None


class Parcels(_Read):
    items: list[Parcel]


def _check(reply: Any, document: dict[str, Any] = DOCUMENT, **options: Any) -> list[str]:
    return check_call(
        "shop", Call("parcels", "GET", "/v1/parcels/{pid}", reply, **options), document
    )


def _edited(**changes: Any) -> dict[str, Any]:
    """The document with the parcel's properties and required list changed."""
    document = copy.deepcopy(DOCUMENT)
    parcel = document["components"]["schemas"]["Parcel"]
    parcel["properties"].update(changes.get("properties", {}))
    for name in changes.get("dropped", ()):
        del parcel["properties"][name]
        parcel["required"] = [r for r in parcel["required"] if r != name]
    for name in changes.get("optional", ()):
        parcel["required"].remove(name)
    return document


def test_a_reader_that_fits_the_contract_passes() -> None:
    assert _check(Parcel) == []
    assert check_call("shop", Call("parcels", "GET", "/v1/parcels", Parcels), DOCUMENT) == []


def test_a_missing_path() -> None:
    call = Call("parcels", "GET", "/v1/boxes/{id}", Parcel)
    assert check_call("shop", call, DOCUMENT) == [
        "shop -> parcels GET /v1/boxes/{id}: parcels's openapi.json has no such path"
    ]


def test_a_missing_method() -> None:
    call = Call("parcels", "DELETE", "/v1/parcels/{pid}")
    assert check_call("shop", call, DOCUMENT) == [
        "shop -> parcels DELETE /v1/parcels/{pid}: parcels's openapi.json has no DELETE on it"
    ]


def test_a_field_the_provider_dropped() -> None:
    assert _check(Parcel, _edited(dropped=["weight"])) == [
        f"{WHERE}: field weight: the reader reads it, parcels's contract does not have it"
    ]


def test_an_optional_field_the_provider_does_not_have() -> None:
    assert _check(Parcel, _edited(dropped=["note"])) == [
        f"{WHERE}: field note: the reader reads it, parcels's contract does not have it"
    ]


def test_a_field_the_reader_requires_and_the_provider_makes_optional() -> None:
    assert _check(Parcel, _edited(optional=["id"])) == [
        f"{WHERE}: field id: the reader requires it, parcels's contract makes it optional"
    ]


def test_a_type_mismatch() -> None:
    assert _check(Parcel, _edited(properties={"id": {"type": "integer"}})) == [
        f"{WHERE}: field id: parcels may send integer, the reader takes string"
    ]


def test_a_null_the_reader_does_not_take() -> None:
    class Strict(_Read):
        note: str = ""

    assert _check(Strict) == [
        f"{WHERE}: field note: parcels may send null, the reader takes string"
    ]


def test_an_enum_value_the_reader_does_not_know() -> None:
    widened = {"status": {"enum": ["packed", "sent", "returned"], "type": "string"}}
    assert _check(Parcel, _edited(properties=widened)) == [
        f"{WHERE}: field status: parcels may send 'returned', "
        "an enum value the reader does not know"
    ]


def test_a_reader_of_any_string_tolerates_new_enum_values() -> None:
    class Tolerant(_Read):
        status: str

    widened = {"status": {"enum": ["packed", "sent", "returned"], "type": "string"}}
    assert _check(Tolerant, _edited(properties=widened)) == []


def test_a_reader_of_fixed_values_against_an_open_string() -> None:
    assert _check(Parcel, _edited(properties={"status": {"type": "string"}})) == [
        f"{WHERE}: field status: the reader knows only 'lost', 'packed', 'sent', "
        "and parcels's contract does not limit the values"
    ]


def test_defects_inside_lists_name_the_item() -> None:
    call = Call("parcels", "GET", "/v1/parcels", Parcels)
    assert check_call("shop", call, _edited(dropped=["weight"])) == [
        "shop -> parcels GET /v1/parcels: field items[].weight: the reader reads it, "
        "parcels's contract does not have it"
    ]


def test_an_optional_field_said_to_keep_its_default_is_not_a_defect() -> None:
    assert _check(Parcel, _edited(dropped=["note"]), defaulted=("note",)) == []
    # A required one cannot be said so: the reader fails without it.
    assert _check(Parcel, _edited(dropped=["id"]), defaulted=("id",)) != []


EVENT: dict[str, Any] = {
    "$defs": {"ParcelSentV1": PARCEL},
    "properties": {
        "type": {"const": "ParcelSent"},
        "version": {"const": 1},
        "data": {"$ref": "#/$defs/ParcelSentV1"},
    },
    "required": ["type", "version", "data"],
}


def test_an_event_reader_checks_the_data_schema() -> None:
    read = EventRead("parcels", "ParcelSent", 1, Parcel)
    assert check_event("mailer", read, EVENT) == []
    dropped = copy.deepcopy(EVENT)
    dropped["$defs"]["ParcelSentV1"]["required"].remove("weight")
    assert check_event("mailer", read, dropped) == [
        "mailer <- parcels ParcelSent v1: field weight: the reader requires it, "
        "parcels's contract makes it optional"
    ]
    without_data = {**EVENT, "required": ["type", "version"]}
    assert check_event("mailer", read, without_data) == [
        "mailer <- parcels ParcelSent v1: the event schema has no required data"
    ]
    assert check_event("mailer", read, None) == [
        "mailer <- parcels ParcelSent v1: parcels documents no such event"
    ]


@pytest.mark.parametrize(
    ("called", "found"),
    [
        ([("GET", "/v1/parcels/{parcel_id}"), ("GET", "/v1/parcels")], []),
        (
            [("GET", "/v1/parcels/{parcel_id}"), ("POST", "/v1/parcels")],
            ["shop calls parcels's POST /v1/parcels, which shop's reads.py does not declare"],
        ),
    ],
)
def test_an_undeclared_call(called: list[tuple[str, str]], found: list[str]) -> None:
    reads = Reads(
        "shop",
        calls=(
            Call("parcels", "GET", "/v1/parcels/{pid}", Parcel),
            Call("parcels", "GET", "/v1/parcels", Parcels),
        ),
    )
    assert reads.undeclared("parcels", called) == found
    assert reads.check(lambda callee: DOCUMENT, lambda *event: None) == []


class Node(_Read):
    name: str
    children: list[Node] = []


def test_a_recursive_schema_is_followed_to_a_bound() -> None:
    node: dict[str, Any] = {
        "properties": {
            "name": {"type": "string"},
            "children": {"items": {"$ref": "#/components/schemas/Node"}, "type": "array"},
        },
        "required": ["name", "children"],
        "type": "object",
    }
    document = {
        "paths": {"/v1/parcels/{pid}": _answering({"$ref": "#/components/schemas/Node"})},
        "components": {"schemas": {"Node": node}},
    }
    assert _check(Node, document) == []
    node["properties"]["name"] = {"type": "integer"}
    assert f"{WHERE}: field children[].name: parcels may send integer, the reader takes string" in (
        _check(Node, document)
    )
