"""Products as CSV: every row checked by the catalog's own rules, bad rows by line number."""

from __future__ import annotations

import io

import pytest
from catalog.domain import Money, Product
from catalog.product_csv import COLUMNS, BadHeader, read_products, write_products

CATEGORIES = frozenset({"kitchen", "home"})
HEADER = ",".join(COLUMNS)
GOOD = "oak-spoon,Oak Spoon,A carved oak spoon.,kitchen,1200,USD,wood spoon,"
SPOON = Product(
    id="oak-spoon",
    name="Oak Spoon",
    description="A carved oak spoon.",
    category="kitchen",
    price=Money(1200, "USD"),
    picture="/v1/pictures/oak-spoon.svg",
    tags=("wood", "spoon"),
)


def read(text: str) -> tuple[list[Product], list[tuple[int, str]]]:
    reading = read_products(io.StringIO(text), CATEGORIES)
    return reading.products, [(p.line, p.reason) for p in reading.problems]


def test_a_good_row_is_the_product_a_put_would_make() -> None:
    assert read(f"{HEADER}\n{GOOD}\n") == ([SPOON], [])


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("Oak_Spoon,Oak,A spoon.,kitchen,1200,USD,,", "id: String should match pattern"),
        ("oak-spoon,,A spoon.,kitchen,1200,USD,,", "name: String should have at least 1"),
        ("oak-spoon,Oak,A spoon.,kitchen,12.00,USD,,", "price_amount: '12.00' is not integer"),
        ("oak-spoon,Oak,A spoon.,kitchen,-5,USD,,", "price_amount: '-5' is not integer"),
        ("oak-spoon,Oak,A spoon.,kitchen,1200,EUR,,", "price_currency: String should match"),
        ("oak-spoon,Oak,A spoon.,garden,1200,USD,,", "There is no category 'garden'"),
        ("oak-spoon,Oak,A spoon.,kitchen,1200,USD,Wood!,", "tags: String should match"),
        ("oak-spoon,Oak,A spoon.,kitchen,1200,USD,,/x.svg", "'picture' is read-only"),
        ("oak-spoon,Oak,A spoon.,kitchen,1200", "5 values where the header names 8"),
    ],
)
def test_a_bad_row_says_which_column_and_why(row: str, reason: str) -> None:
    products, problems = read(f"{HEADER}\n{row}\n")
    assert products == []
    assert len(problems) == 1 and problems[0][0] == 2
    assert reason in problems[0][1], problems[0][1]


def test_line_numbers_are_the_files_across_quoted_newlines_and_blank_lines() -> None:
    text = (
        f"{HEADER}\n"
        'cork-mat,Cork Mat,"A mat.\nFor pots.",kitchen,9.00,USD,,\n'  # lines 2-3
        'cork-pad,Cork Pad,"A pad.\nFor cups.",kitchen,900,USD,,\n'  # lines 4-5
        "\n"  # line 6
        "bad id,X,Y,kitchen,1,USD,,\n"  # line 7
        f"{GOOD}\n"  # line 8
        f"{GOOD}\n"  # line 9: the same id again
    )
    products, problems = read(text)
    assert [p.id for p in products] == ["cork-pad", "oak-spoon"]
    assert [line for line, _ in problems] == [2, 7, 9]
    assert "already on line 8" in problems[2][1]


def test_tags_and_picture_may_be_left_out_of_the_header() -> None:
    header = ",".join(COLUMNS[:6])
    products, problems = read(
        f"{header}\noak-spoon,Oak Spoon,A carved oak spoon.,kitchen,1200,USD\n"
    )
    assert problems == [] and products[0].tags == ()


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("id,name", "lacks category, description, price_amount, price_currency"),
        (f"{HEADER},colour", "unknown column 'colour'"),
        (f"{HEADER},tags", "named twice"),
        ("", "lacks"),
    ],
)
def test_a_bad_header_reads_nothing(header: str, reason: str) -> None:
    with pytest.raises(BadHeader, match=reason):
        read(f"{header}\n{GOOD}\n")


def test_what_is_written_reads_back_the_same() -> None:
    tricky = Product(
        id="quote-mug",
        name='The "Best" Mug, Ever',
        description="Line one.\nLine two, with a comma.",
        category="home",
        price=Money(0, "USD"),
        picture="/v1/pictures/quote-mug.svg",
        tags=(),
    )
    out = io.StringIO()
    assert write_products([SPOON, tricky], out) == 2
    assert read(out.getvalue()) == ([SPOON, tricky], [])
