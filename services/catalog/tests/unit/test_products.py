"""The rules for writing a product: PUT drafts and PATCH changes."""

from __future__ import annotations

from typing import Any

import pytest
from catalog.domain import Money, Product, ReadOnlyField
from catalog.schemas import ProductChanges, ProductDraft
from pydantic import ValidationError

DRAFT: dict[str, Any] = {
    "name": " Oak Spoon ",
    "description": "A carved oak spoon.\nFor stirring and serving.",
    "category": "kitchen",
    "price": {"amount": 1200, "currency": "USD"},
    "tags": ["wood", "spoon", "wood", "kitchen"],
}
SPOON = Product(
    id="oak-spoon",
    name="Oak Spoon",
    description="A carved oak spoon.\nFor stirring and serving.",
    category="kitchen",
    price=Money(1200, "USD"),
    picture="/v1/pictures/oak-spoon.svg",
    tags=("wood", "spoon", "kitchen"),
)


def test_a_draft_becomes_a_product_trimmed_with_tags_once_each() -> None:
    assert ProductDraft.model_validate(DRAFT).to_product("oak-spoon") == SPOON


def test_read_only_fields_may_be_echoed_but_not_changed() -> None:
    echoed = {**DRAFT, "id": "oak-spoon", "picture": "/v1/pictures/oak-spoon.svg"}
    assert ProductDraft.model_validate(echoed).to_product("oak-spoon") == SPOON
    with pytest.raises(ReadOnlyField, match="'id'"):
        ProductDraft.model_validate({**DRAFT, "id": "other"}).to_product("oak-spoon")
    with pytest.raises(ReadOnlyField, match="'picture'"):
        ProductDraft.model_validate({**DRAFT, "picture": "/x.svg"}).to_product("oak-spoon")


@pytest.mark.parametrize(
    "change",
    [
        {"price": {"amount": 100, "currency": "EUR"}},
        {"price": {"amount": -1, "currency": "USD"}},
        {"price": {"amount": 1.5, "currency": "USD"}},
        {"price": {"amount": "12", "currency": "USD"}},
        {"name": ""},
        {"name": "two\nlines"},
        {"name": "x" * 121},
        {"description": "nul\x00"},
        {"category": "Kitchen"},
        {"tags": ["Two Words"]},
        {"tags": [f"tag-{n}" for n in range(21)]},
        {"weight": 3},
    ],
)
def test_invalid_drafts_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ProductDraft.model_validate({**DRAFT, **change})


def test_changes_touch_only_what_they_name() -> None:
    changes = ProductChanges.model_validate({"price": {"amount": 900, "currency": "USD"}})
    assert changes.apply_to(SPOON) == Product(**{**_fields(SPOON), "price": Money(900, "USD")})
    assert ProductChanges().apply_to(SPOON) == SPOON


def test_changed_tags_replace_the_old_ones() -> None:
    changes = ProductChanges.model_validate({"tags": ["gift", "gift"], "name": " Spoon "})
    revised = changes.apply_to(SPOON)
    assert (revised.tags, revised.name) == (("gift",), "Spoon")


def test_changes_refuse_read_only_and_unknown_fields() -> None:
    for change in ({"id": "x"}, {"picture": "/x.svg"}, {"colour": "red"}, {"name": None}):
        with pytest.raises(ValidationError):
            ProductChanges.model_validate(change).apply_to(SPOON)


def _fields(product: Product) -> dict[str, Any]:
    return {name: getattr(product, name) for name in product.__slots__}
