"""Address and Money in JSON, one adapter each: pydantic's over the domain's dataclasses.

The database rows, the events, the API's views and the callees' bodies all convert through
these (the views and payloads are models with the same field names, filled with `as_model`),
so a field added to a shape is added in `domain.py` and its models only, never to a copy
of the conversion.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter

from orders.domain import Address, Line, Money

MONEY: TypeAdapter[Money] = TypeAdapter(Money)
ADDRESS: TypeAdapter[Address] = TypeAdapter(Address)
_LINE: TypeAdapter[Line] = TypeAdapter(Line)

Model = TypeVar("Model", bound=BaseModel)


def money_json(money: Money) -> dict[str, Any]:
    """`{"amount", "currency"}`: every callee's and every column's money."""
    data: dict[str, Any] = MONEY.dump_python(money, mode="json")
    return data


def money_of(data: object) -> Money:
    """Money from JSON; a ValidationError naming the field if it is not that shape."""
    return MONEY.validate_python(data)


def address_json(address: Address) -> dict[str, Any]:
    """All seven fields, absent optional parts as null."""
    data: dict[str, Any] = ADDRESS.dump_python(address, mode="json")
    return data


def address_of(data: object) -> Address:
    return ADDRESS.validate_python(data)


def as_model(model: type[Model], shape: Money | Address) -> Model:
    """`shape` as one of the API's or the events' models of it (the same field names)."""
    return model.model_validate(shape, from_attributes=True)


def line_as(model: type[Model], line: Line) -> Model:
    """A priced line as the API's or the events' model of it: its fields and `line_total`."""
    return model.model_validate({**_LINE.dump_python(line), "line_total": money_json(line.total)})
