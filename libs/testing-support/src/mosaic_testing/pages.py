"""The shop's pages as a shopper without JavaScript sees and uses them."""

import re
import time
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Self

import httpx

from mosaic_testing.mail import Mail, verification_link


class Forms(HTMLParser):
    """What a test reads of a shop page, by structure rather than exact markup: each form's
    fields by action (hidden inputs with their values, radio groups with their choices), the
    links and stylesheets, the selected option of each select, the page's text, and the
    header's cart count and signed-in name. `html` is the markup as served."""

    MARKED = ("cart-count", "account-nav__name")  # classes whose text the header shows

    def __init__(self, html: str) -> None:
        super().__init__()
        self.html = html
        self.hidden: dict[str, dict[str, str]] = {}
        self.radios: dict[str, dict[str, list[str]]] = {}
        self.links: list[str] = []
        self.stylesheets: list[str] = []
        self.selected: dict[str, str] = {}  # select id -> chosen value
        self._action: str | None = None
        self._text: list[str] = []
        self._skip = 0
        self._select = ""
        self._marking: str | None = None
        self._marked: dict[str, str] = {}
        self.feed(html)
        self.close()

    @property
    def text(self) -> str:
        """The visible text, whitespace collapsed."""
        return " ".join(" ".join(self._text).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        self._marking = next((c for c in found.get("class", "").split() if c in self.MARKED), None)
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "form":
            self._action = found.get("action", "")
            self.hidden.setdefault(self._action, {})
            self.radios.setdefault(self._action, {})
        elif tag == "input" and self._action is not None:
            name = found.get("name", "")
            if found.get("type") == "hidden":
                self.hidden[self._action].setdefault(name, found.get("value", ""))
            elif found.get("type") == "radio":
                self.radios[self._action].setdefault(name, []).append(found.get("value", ""))
        elif tag == "a" and "href" in found:
            self.links.append(found["href"])
        elif tag == "link" and found.get("rel") == "stylesheet":
            self.stylesheets.append(found["href"])
        elif tag == "select":
            self._select = found.get("id", found.get("name", ""))
        elif tag == "option" and "selected" in found:
            self.selected[self._select] = found.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        self._marking = None
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag == "form":
            self._action = None

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._text.append(data)
        if self._marking is not None:
            self._marked[self._marking] = self._marked.get(self._marking, "") + data

    def form(self, action: str) -> dict[str, str]:
        """The hidden fields of the form posting to `action` (its CSRF token, ...)."""
        assert action in self.hidden, f"no form posting to {action} on the page"
        return dict(self.hidden[action])

    def actions(self, pattern: str) -> list[str]:
        """The first group of `pattern` in each form action it matches in full, in page
        order: `actions(r"/cart/items/([^/]+)/remove")` is the cart's product ids."""
        return [m[1] for action in self.hidden if (m := re.fullmatch(pattern, action))]

    def products(self) -> list[str]:
        """The ids of the products the page links to, each once, in page order."""
        ids = (h.removeprefix("/product/") for h in self.links if h.startswith("/product/"))
        return list(dict.fromkeys(ids))

    def cart_lines(self) -> list[str]:
        """The product ids of the cart page's lines (their remove forms), sorted."""
        return sorted(self.actions(r"/cart/items/([^/]+)/remove"))

    @property
    def cart_count(self) -> int:
        count = self._marked.get("cart-count", "").strip().strip("()")
        assert count.isdecimal(), "every page shows the cart's item count"
        return int(count)

    @property
    def signed_in_as(self) -> str | None:
        """The signed-in name in the header; None when nobody is signed in."""
        name = self._marked.get("account-nav__name")
        return name.strip() if name is not None else None


TEST_CARD = "4242 4242 4242 4242"  # Stripe's test Visa: succeeds
# The services a shopper's checkout in US dollars crosses (its trace, its log lines):
# catalog and shipping price in USD, so orders asks currency nothing (orders.pricing).
CHECKOUT_SERVICES = frozenset({"frontend", "orders", "cart", "catalog", "payments", "shipping"})
CHECKOUT_ADDRESS = {
    "name": "Ada Lovelace", "line1": "Unter den Linden 1", "line2": "", "city": "Berlin",
    "postal_code": "10117", "country": "DE",
}  # fmt: skip


class Shopper:
    """One shopper at the shop's pages, as a browser without JavaScript: own cookies, forms
    posted with their hidden fields (CSRF token, the checkout's Idempotency-Key), redirects
    left for the test to see. Close it (a `with` block) when done."""

    def __init__(
        self, url: str, timeout: float = 60, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.http = httpx.Client(base_url=url, timeout=timeout, transport=transport)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def open(self, path: str) -> Forms:
        response = self.http.get(path)
        assert response.status_code == 200, f"{path}: {response.status_code}"
        return Forms(response.text)

    def submit(self, path: str, action: str, **fields: str) -> httpx.Response:
        """Open the page, then post its form: its hidden fields plus `fields`."""
        return self.http.post(action, data={**self.open(path).form(action), **fields})

    def products(self) -> list[str]:
        return self.open("/").products()

    def add_to_cart(self, product: str, quantity: int = 1) -> None:
        added = self.submit(f"/product/{product}", "/cart/items", quantity=str(quantity))
        assert added.status_code == 303, added.text

    def sign_up(self, name: str, email: str, password: str, *, mail: Mail) -> None:
        """Sign up, then open the link mailed to the address and confirm: signed in.
        `name`: given then family name, as a shopper types it into the form's two fields
        (the last word into "Family name"; one word is a given name only). `mail` reads
        the dev mailbox (`UpProcess.mail`)."""
        given, _, family = name.rpartition(" ")
        names = {"given_name": given, "family_name": family} if given else {"given_name": family}
        answer = self.submit("/sign-up", "/sign-up", **names, email=email, password=password)
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/sign-up/check-email", answer.headers
        self.confirm(verification_link(mail, email), password)

    def confirm(self, link: str, password: str) -> httpx.Response:
        """Open a verification link, enter the sign-up's password and press its button, as
        its owner would."""
        confirmed = self.submit(link, "/verify-email", password=password)
        assert confirmed.status_code == 303, confirmed.text
        return confirmed

    def checkout_form(self) -> dict[str, str]:
        """A fresh checkout form's hidden fields (its own Idempotency-Key) and a delivery
        address, a delivery option and a card that succeeds: override what a test needs."""
        page = self.open("/checkout")
        return {
            **page.form("/checkout"),
            "email": "ada@example.com",
            "saved_address": "new",
            **CHECKOUT_ADDRESS,
            "shipping_option": "standard",
            "card_number": TEST_CARD,
            "exp_month": "12",
            "exp_year": str(time.gmtime().tm_year + 3),
            "card_cvc": "123",
        }

    def place_order(self, form: Mapping[str, str]) -> httpx.Response:
        return self.http.post("/checkout", data=dict(form))


def serves(url: str, timeout: float = 2.0) -> bool:
    """GET url answers 200 within timeout seconds (False on any transport error)."""
    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False
