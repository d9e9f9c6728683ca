"""Page arithmetic for product lists: which page links to show, and a one-line summary."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Pager:
    page: int
    page_size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def previous(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None

    @property
    def beyond_last(self) -> bool:
        """A page number past the end: the page does not exist (page 1 of nothing does)."""
        return self.page > self.pages

    @property
    def numbers(self) -> list[int | None]:
        """Page links: first, last, and one either side of the current; `None` marks a gap.

        At most seven entries, so the row fits a phone however many pages there are.
        """
        wanted = {1, self.pages, *range(self.page - 1, self.page + 2)}
        shown = sorted(n for n in wanted if 1 <= n <= self.pages)
        numbers: list[int | None] = []
        for n in shown:
            if numbers and n - (numbers[-1] or 0) == 2:
                numbers.append(n - 1)  # a gap of one page: show the number, not "…"
            elif numbers and n - (numbers[-1] or 0) > 2:
                numbers.append(None)
            numbers.append(n)
        return numbers

    @property
    def summary(self) -> str:
        noun = "product" if self.total == 1 else "products"
        if self.total <= self.page_size:
            return f"{self.total} {noun}"
        first = (self.page - 1) * self.page_size + 1
        last = min(self.total, self.page * self.page_size)
        return f"Showing {first}\N{EN DASH}{last} of {self.total:,} {noun}"
