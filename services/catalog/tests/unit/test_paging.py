"""Page requests: 1-based pages, bounded sizes."""

from __future__ import annotations

import pytest
from catalog.domain import DEFAULT_PAGE_SIZE, MAX_PAGE, MAX_PAGE_SIZE, PageRequest


def test_defaults_and_offsets() -> None:
    assert PageRequest() == PageRequest(1, DEFAULT_PAGE_SIZE)
    assert (PageRequest(1, 24).offset, PageRequest(1, 24).limit) == (0, 24)
    assert (PageRequest(3, 10).offset, PageRequest(3, 10).limit) == (20, 10)


def test_the_edges_are_allowed() -> None:
    first, last = PageRequest(1, 1), PageRequest(MAX_PAGE, MAX_PAGE_SIZE)
    assert (first.offset, first.limit) == (0, 1)
    assert (last.offset, last.limit) == ((MAX_PAGE - 1) * MAX_PAGE_SIZE, MAX_PAGE_SIZE)


@pytest.mark.parametrize(
    ("page", "page_size"), [(0, 24), (-1, 24), (MAX_PAGE + 1, 24), (1, 0), (1, MAX_PAGE_SIZE + 1)]
)
def test_out_of_bounds(page: int, page_size: int) -> None:
    with pytest.raises(ValueError, match="between"):
        PageRequest(page, page_size)
