"""The cart's rules, without I/O."""

from __future__ import annotations

import pytest
from cart.domain import (
    MAX_LINES,
    Line,
    QuantityOutOfRange,
    TooManyLines,
    added,
    merged,
)
from hypothesis import given
from hypothesis import strategies as st


def test_adding_sums_with_the_line() -> None:
    assert added((Line("a", 3),), "a", 4) == 7
    assert added((Line("a", 3),), "b", 10) == 10


@pytest.mark.parametrize(("have", "add"), [(6, 5), (10, 1), (0, 11)])
def test_a_line_never_passes_ten(have: int, add: int) -> None:
    lines = (Line("a", have),) if have else ()
    with pytest.raises(QuantityOutOfRange, match="'a' would come to"):
        added(lines, "a", add)


def test_a_fifty_first_product_is_refused_but_more_of_one_is_not() -> None:
    full = tuple(Line(f"p-{n}", 1) for n in range(MAX_LINES))
    with pytest.raises(TooManyLines):
        added(full, "another", 1)
    assert added(full, "p-0", 2) == 3


def test_merging_sums_caps_and_keeps_the_users_lines_first() -> None:
    into = (Line("a", 4), Line("b", 1))
    taken = (Line("c", 2), Line("a", 9))
    assert merged(into, taken) == (Line("a", 10), Line("b", 1), Line("c", 2))


def test_merging_leaves_out_new_products_past_fifty_lines() -> None:
    into = tuple(Line(f"p-{n}", 1) for n in range(MAX_LINES - 1))
    taken = (Line("x", 1), Line("y", 1), Line("p-0", 1))
    result = merged(into, taken)
    assert len(result) == MAX_LINES
    assert Line("x", 1) in result
    assert Line("p-0", 2) in result
    assert all(line.product_id != "y" for line in result)


lines = st.lists(
    st.tuples(st.sampled_from([f"p-{n}" for n in range(70)]), st.integers(1, 10)),
    max_size=60,
    unique_by=lambda pair: pair[0],
).map(lambda pairs: tuple(Line(p, q) for p, q in pairs[:MAX_LINES]))


@given(lines, lines)
def test_merging_keeps_every_bound_and_is_idempotent_on_an_empty_cart(
    into: tuple[Line, ...], taken: tuple[Line, ...]
) -> None:
    result = merged(into, taken)
    assert len(result) <= MAX_LINES
    assert all(1 <= line.quantity <= 10 for line in result)
    assert len({line.product_id for line in result}) == len(result)
    assert {line.product_id for line in into} <= {line.product_id for line in result}
    assert merged(result, ()) == result
