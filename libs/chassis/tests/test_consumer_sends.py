"""The consumer check of what a caller sends (`Call(..., sends=Model)`): each field it may
send is one the callee's request schema takes, with a type it takes, and each field the
callee requires is one the caller always sends. One small request schema and sender per
kind of defect; a sender that fits passes."""

from __future__ import annotations

import copy
from typing import Any, Literal, NotRequired

import pytest
from chassis.consumers import Call, check_call
from pydantic import BaseModel
from typing_extensions import TypedDict

# A request schema as FastAPI writes it: a `$ref` to a component, an optional field as
# `anyOf: [X, {type: null}]`, a removed-next-release field marked deprecated.
SIGN_UP = {
    "properties": {
        "email": {"type": "string"},
        "given_name": {"type": "string"},
        "family_name": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "speed": {"enum": ["standard", "express"], "type": "string"},
        "address": {"$ref": "#/components/schemas/Address"},
    },
    "required": ["email", "given_name"],
    "additionalProperties": False,
    "type": "object",
}
ADDRESS = {
    "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
    "required": ["country"],
    "type": "object",
}
DOCUMENT: dict[str, Any] = {
    "paths": {
        "/v1/users": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/SignUp"}}
                    },
                    "required": True,
                },
                "responses": {"202": {"description": "accepted"}},
            }
        },
        "/v1/users/me": {"get": {"responses": {"200": {"description": "a profile"}}}},
    },
    "components": {"schemas": {"SignUp": SIGN_UP, "Address": ADDRESS}},
}
WHERE = "shop -> accounts POST /v1/users: request"


class Address(TypedDict):
    country: str
    city: NotRequired[str]


class SignUpForm(TypedDict):
    email: str
    given_name: str
    family_name: NotRequired[str]
    address: NotRequired[Address]


def _check(sends: Any, document: dict[str, Any] = DOCUMENT, path: str = "/v1/users") -> list[str]:
    method = "POST" if path == "/v1/users" else "GET"
    return check_call("shop", Call("accounts", method, path, sends=sends), document)


def _without(field: str) -> dict[str, Any]:
    document = copy.deepcopy(DOCUMENT)
    schema = document["components"]["schemas"]["SignUp"]
    del schema["properties"][field]
    schema["required"] = [r for r in schema["required"] if r != field]
    return document


def test_a_sender_that_fits_the_request_schema_passes() -> None:
    assert _check(SignUpForm) == []


def test_a_field_the_callee_no_longer_takes() -> None:
    """A request field removed while a caller still sends it: a 422 for that caller."""

    class OldForm(SignUpForm):
        display_name: NotRequired[str]

    assert _check(OldForm) == [
        f"{WHERE}: field display_name: shop sends it, the callee's contract does not take it (422)"
    ]


def test_a_field_removed_from_the_callee_that_the_caller_sends() -> None:
    assert _check(SignUpForm, _without("family_name")) == [
        f"{WHERE}: field family_name: shop sends it, the callee's contract does not take it (422)"
    ]


def test_a_field_the_callee_requires_and_the_caller_may_leave_out() -> None:
    class Sparse(TypedDict):
        email: str
        given_name: NotRequired[str]

    assert _check(Sparse) == [
        f"{WHERE}: field given_name: the callee requires it, shop may leave it out"
    ]


def test_a_required_field_the_caller_never_sends() -> None:
    class Emailed(TypedDict):
        email: str

    assert _check(Emailed) == [
        f"{WHERE}: field given_name: the callee requires it, shop may leave it out"
    ]


def test_a_type_the_callee_does_not_take() -> None:
    class Nulls(BaseModel):
        email: str
        given_name: str | None  # sent as null when unknown

    assert _check(Nulls) == [
        f"{WHERE}: field given_name: shop may send null, the reader takes string"
    ]


def test_an_enum_value_the_callee_does_not_take() -> None:
    class Fast(SignUpForm):
        speed: Literal["standard", "overnight"]

    assert _check(Fast) == [
        f"{WHERE}: field speed: shop may send 'overnight', an enum value the reader does not know"
    ]


def test_a_free_string_where_the_callee_takes_fixed_values() -> None:
    class Free(SignUpForm):
        speed: str

    [problem] = _check(Free)
    assert problem.startswith(f"{WHERE}: field speed: the reader knows only 'express', 'standard'")


class Abroad(TypedDict):
    country: str
    planet: str


class Far(TypedDict):
    email: str
    given_name: str
    address: Abroad


class Nowhere(TypedDict):
    city: str


class Vague(TypedDict):
    email: str
    given_name: str
    address: Nowhere


def test_nested_objects_are_checked_field_by_field() -> None:
    assert _check(Far) == [
        f"{WHERE}: field address.planet: shop sends it, the callee's contract does not take it"
        " (422)"
    ]
    assert _check(Vague) == [
        f"{WHERE}: field address.country: the callee requires it, shop may leave it out"
    ]


@pytest.mark.parametrize("path", ["/v1/users/me"])
def test_a_body_sent_where_the_callee_takes_none(path: str) -> None:
    assert _check(SignUpForm, path=path) == [
        "shop -> accounts GET /v1/users/me: request: accounts takes no JSON body here"
    ]
