"""Whose cart or order a call is about, in the terms cart and orders are told it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Owner:
    """A signed-in user's access token, an anonymous visitor's id, or (merging a visitor's
    cart into the user's) both; neither for a guest reading an order by its link."""

    token: str | None = None
    visitor_id: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.token is not None

    @property
    def headers(self) -> dict[str, str]:
        """`Authorization: Bearer` and `x-visitor-id`, as the callees read them."""
        headers = {}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.visitor_id is not None:
            headers["x-visitor-id"] = self.visitor_id
        return headers
