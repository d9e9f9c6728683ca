"""What the API sends: a recommendation is the part of catalog's product a block shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field

from recommendations.domain import Pick


@dataclass(frozen=True, slots=True)
class Money:
    amount: Annotated[int, Field(ge=0, description="integer minor units (cents for USD)")]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]


@dataclass(frozen=True, slots=True)
class Recommendation:
    id: str
    name: str
    category: str
    price: Money
    picture: Annotated[str, Field(description="path of the product's picture on catalog")]
    reason: Annotated[
        Literal["same-category", "popular"],
        Field(description="why it is suggested: shares a category, or catalog's front page"),
    ]


@dataclass(frozen=True, slots=True)
class RecommendationList:
    items: Annotated[tuple[Recommendation, ...], Field(description="best first; may be empty")]


def recommendation_list(picks: list[Pick]) -> RecommendationList:
    return RecommendationList(
        tuple(
            Recommendation(
                id=pick.product["id"],
                name=pick.product["name"],
                category=pick.product["category"],
                price=Money(pick.product["price"]["amount"], pick.product["price"]["currency"]),
                picture=pick.product["picture"],
                reason=pick.reason,
            )
            for pick in picks
        )
    )
