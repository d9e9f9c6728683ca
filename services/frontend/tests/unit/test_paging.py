import pytest
from frontend.web.paging import Pager


@pytest.mark.parametrize(
    ("page", "total", "numbers"),
    [
        (1, 0, [1]),
        (1, 24, [1]),
        (1, 25, [1, 2]),
        (1, 240, [1, 2, None, 10]),
        (3, 240, [1, 2, 3, 4, None, 10]),
        (4, 240, [1, 2, 3, 4, 5, None, 10]),  # no "…" standing in for a single page
        (5, 240, [1, None, 4, 5, 6, None, 10]),
        (9, 240, [1, None, 8, 9, 10]),
        (10, 240, [1, None, 9, 10]),
    ],
)
def test_page_links(page: int, total: int, numbers: list[int | None]) -> None:
    assert Pager(page=page, page_size=24, total=total).numbers == numbers


def test_previous_and_next() -> None:
    assert (Pager(1, 24, 50).previous, Pager(1, 24, 50).next) == (None, 2)
    assert (Pager(3, 24, 50).previous, Pager(3, 24, 50).next) == (2, None)


@pytest.mark.parametrize(
    ("page", "total", "summary"),
    [
        (1, 0, "0 products"),
        (1, 1, "1 product"),
        (1, 24, "24 products"),
        (2, 27, "Showing 25\N{EN DASH}27 of 27 products"),
        (1, 2400, "Showing 1\N{EN DASH}24 of 2,400 products"),
    ],
)
def test_summary(page: int, total: int, summary: str) -> None:
    assert Pager(page=page, page_size=24, total=total).summary == summary


def test_an_empty_list_still_has_its_first_page() -> None:
    assert not Pager(1, 24, 0).beyond_last
    assert Pager(2, 24, 0).beyond_last
    assert Pager(3, 24, 48).beyond_last
