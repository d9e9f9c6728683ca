"""The cart's rules: owners, lines, bounds, and how two carts merge. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MIN_QUANTITY = 1
MAX_QUANTITY = 10  # per line
MAX_LINES = 50  # per cart

PRODUCT_ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"  # catalog's product ids
MAX_PRODUCT_ID_LENGTH = 64


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose cart: an anonymous visitor, or a user proven by a verified access token."""

    kind: Literal["visitor", "user"]
    id: str


@dataclass(frozen=True, slots=True)
class Line:
    product_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Cart:
    id: str
    lines: tuple[Line, ...]


class CartError(Exception):
    """Base of the rules a request can break; each has a problem type (problems.py)."""


class CartNotFound(CartError):
    def __init__(self) -> None:
        # The same answer for a missing cart and someone else's: ids reveal nothing.
        super().__init__("No such cart.")


class LineNotFound(CartError):
    def __init__(self, product_id: str) -> None:
        super().__init__(f"The cart holds no {product_id!r}.")


class QuantityOutOfRange(CartError):
    def __init__(self, product_id: str, quantity: int) -> None:
        super().__init__(
            f"{product_id!r} would come to {quantity}; a line holds "
            f"{MIN_QUANTITY} to {MAX_QUANTITY}."
        )


class TooManyLines(CartError):
    def __init__(self) -> None:
        super().__init__(f"A cart holds at most {MAX_LINES} different products.")


class UnknownProduct(CartError):
    def __init__(self, product_id: str) -> None:
        super().__init__(f"The catalog has no product {product_id!r}.")


def added(lines: tuple[Line, ...], product_id: str, quantity: int) -> int:
    """The line's quantity after adding `quantity`; raises if a bound would be broken."""
    current = next((line.quantity for line in lines if line.product_id == product_id), 0)
    if current == 0 and len(lines) >= MAX_LINES:
        raise TooManyLines
    total = current + quantity
    if not MIN_QUANTITY <= total <= MAX_QUANTITY:
        raise QuantityOutOfRange(product_id, total)
    return total


def merged(into: tuple[Line, ...], taken: tuple[Line, ...]) -> tuple[Line, ...]:
    """`into` with `taken`'s lines added: quantities summed and capped at MAX_QUANTITY; new
    products appended in `taken`'s order while there is room, the rest left out. Merging
    never fails: a shopper signing in must not lose the sign-in to a full cart."""
    quantities = {line.product_id: line.quantity for line in into}
    for line in taken:
        if line.product_id in quantities:
            quantities[line.product_id] = min(
                quantities[line.product_id] + line.quantity, MAX_QUANTITY
            )
        elif len(quantities) < MAX_LINES:
            quantities[line.product_id] = min(line.quantity, MAX_QUANTITY)
    return tuple(Line(product_id, quantity) for product_id, quantity in quantities.items())
